"""What every Shopmode package may import: the domain error tree (``shopmode.errors``).

The packages, lowest layer first (each imports only from those before it):
``shopmode`` < ``features`` < ``world`` < ``models`` < ``service``.
"""
