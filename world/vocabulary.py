"""The words the synthetic shop is made of: departments, categories, brands, attributes.

Price ranges are in dollars and roughly what a mid-market online shop charges, so that
titles, prices and queries ("trail running shoes under $100") read like a real catalog.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CategorySpec:
    name: str
    department: str
    low: float
    high: float
    nouns: tuple[str, ...]
    sizes: tuple[str, ...] = ()
    # How many items one order usually holds: consumables are bought in twos and threes.
    bulk: bool = False


_APPAREL = ("XS", "S", "M", "L", "XL")
_SHOES = ("6", "7", "8", "9", "10", "11", "12")
_KIDS = ("2T", "3T", "4T", "5", "6", "8", "10")

CATEGORIES: tuple[CategorySpec, ...] = (
    # Outdoor
    CategorySpec(
        "Trail Running Shoes", "Outdoor", 60, 220, ("Trail Running Shoes", "Trail Runners"), _SHOES
    ),
    CategorySpec("Hiking Boots", "Outdoor", 80, 320, ("Hiking Boots", "Trekking Boots"), _SHOES),
    CategorySpec("Tents", "Outdoor", 90, 700, ("Backpacking Tent", "Dome Tent", "Camping Tent")),
    CategorySpec("Sleeping Bags", "Outdoor", 50, 450, ("Sleeping Bag", "Down Sleeping Bag")),
    CategorySpec("Backpacks", "Outdoor", 40, 300, ("Daypack", "Hiking Backpack", "Trekking Pack")),
    CategorySpec("Rain Jackets", "Outdoor", 70, 400, ("Rain Jacket", "Waterproof Shell"), _APPAREL),
    CategorySpec("Camp Kitchen", "Outdoor", 15, 180, ("Camp Stove", "Cook Set", "Insulated Mug")),
    # Fashion
    CategorySpec("Sneakers", "Fashion", 45, 200, ("Sneakers", "Low-Top Trainers"), _SHOES),
    CategorySpec(
        "Dresses", "Fashion", 30, 260, ("Midi Dress", "Wrap Dress", "Shirt Dress"), _APPAREL
    ),
    CategorySpec("Jeans", "Fashion", 35, 180, ("Slim Jeans", "Straight-Leg Jeans"), _APPAREL),
    CategorySpec("Knitwear", "Fashion", 30, 250, ("Crewneck Sweater", "Cardigan"), _APPAREL),
    CategorySpec("Handbags", "Fashion", 40, 600, ("Tote Bag", "Crossbody Bag", "Shoulder Bag")),
    CategorySpec("Watches", "Fashion", 60, 900, ("Analog Watch", "Chronograph Watch")),
    CategorySpec("Sunglasses", "Fashion", 25, 250, ("Aviator Sunglasses", "Round Sunglasses")),
    # Electronics
    CategorySpec("Headphones", "Electronics", 30, 450, ("Wireless Headphones", "Earbuds")),
    CategorySpec("Laptops", "Electronics", 450, 2400, ("Laptop", "Ultrabook")),
    CategorySpec("Smartphones", "Electronics", 200, 1300, ("Smartphone",)),
    CategorySpec("Smartwatches", "Electronics", 100, 600, ("Smartwatch", "Fitness Tracker")),
    CategorySpec("Cameras", "Electronics", 250, 2500, ("Mirrorless Camera", "Action Camera")),
    CategorySpec("Speakers", "Electronics", 30, 500, ("Bluetooth Speaker", "Smart Speaker")),
    CategorySpec(
        "Chargers & Cables", "Electronics", 8, 80, ("Fast Charger", "USB-C Cable", "Power Bank")
    ),
    # Home
    CategorySpec("Cookware", "Home", 25, 400, ("Frying Pan", "Dutch Oven", "Saucepan Set")),
    CategorySpec(
        "Coffee Makers",
        "Home",
        30,
        900,
        ("Espresso Machine", "Pour-Over Kettle", "Drip Coffee Maker"),
    ),
    CategorySpec("Bedding", "Home", 30, 350, ("Duvet Cover", "Sheet Set", "Pillow Pair")),
    CategorySpec("Lighting", "Home", 20, 300, ("Floor Lamp", "Desk Lamp", "Pendant Light")),
    CategorySpec("Storage", "Home", 10, 150, ("Storage Basket", "Shelf Organizer")),
    CategorySpec("Rugs", "Home", 40, 700, ("Area Rug", "Runner Rug")),
    # Beauty
    CategorySpec(
        "Skincare", "Beauty", 10, 120, ("Face Serum", "Moisturizer", "Cleanser"), bulk=True
    ),
    CategorySpec("Makeup", "Beauty", 8, 70, ("Lipstick", "Mascara", "Foundation"), bulk=True),
    CategorySpec("Fragrance", "Beauty", 30, 250, ("Eau de Parfum", "Cologne")),
    CategorySpec("Hair Care", "Beauty", 8, 90, ("Shampoo", "Conditioner", "Hair Oil"), bulk=True),
    # Sports
    CategorySpec("Yoga", "Sports", 15, 150, ("Yoga Mat", "Yoga Block Set", "Yoga Leggings")),
    CategorySpec(
        "Cycling", "Sports", 20, 400, ("Cycling Helmet", "Bike Light Set", "Cycling Jersey")
    ),
    CategorySpec(
        "Fitness Equipment",
        "Sports",
        20,
        900,
        ("Adjustable Dumbbells", "Kettlebell", "Resistance Bands"),
    ),
    CategorySpec(
        "Running Apparel",
        "Sports",
        20,
        150,
        ("Running Shorts", "Running Tee", "Running Tights"),
        _APPAREL,
    ),
    CategorySpec(
        "Swimwear", "Sports", 20, 140, ("Swimsuit", "Swim Shorts", "Swim Goggles"), _APPAREL
    ),
    CategorySpec("Team Sports", "Sports", 15, 200, ("Soccer Ball", "Basketball", "Shin Guards")),
    # Kids
    CategorySpec("Toys", "Kids", 10, 150, ("Building Set", "Plush Toy", "Puzzle")),
    CategorySpec(
        "Kids Clothing", "Kids", 10, 80, ("Kids Hoodie", "Kids Pajamas", "Kids Rain Boots"), _KIDS
    ),
    CategorySpec("Baby Gear", "Kids", 30, 700, ("Stroller", "Baby Carrier", "High Chair")),
    CategorySpec("Books", "Kids", 6, 40, ("Picture Book", "Activity Book"), bulk=True),
    # Grocery
    CategorySpec(
        "Coffee & Tea",
        "Grocery",
        6,
        45,
        ("Whole Bean Coffee", "Loose Leaf Tea", "Ground Coffee"),
        bulk=True,
    ),
    CategorySpec(
        "Snacks", "Grocery", 3, 25, ("Granola Bars", "Trail Mix", "Dark Chocolate"), bulk=True
    ),
    CategorySpec("Pantry", "Grocery", 4, 35, ("Olive Oil", "Pasta", "Hot Sauce"), bulk=True),
    CategorySpec(
        "Pet Supplies", "Grocery", 8, 120, ("Dog Food", "Cat Litter", "Chew Toy"), bulk=True
    ),
    # Garden
    CategorySpec(
        "Garden Tools", "Garden", 12, 200, ("Pruning Shears", "Garden Trowel", "Hose Nozzle")
    ),
    CategorySpec("Planters", "Garden", 15, 180, ("Ceramic Planter", "Raised Bed")),
    CategorySpec("Outdoor Furniture", "Garden", 80, 1500, ("Patio Chair", "Bistro Set", "Hammock")),
)

DEPARTMENTS: tuple[str, ...] = tuple(dict.fromkeys(c.department for c in CATEGORIES))

COLOURS: tuple[str, ...] = (
    "Black", "White", "Slate Grey", "Navy", "Forest Green", "Burgundy", "Sand", "Sky Blue",
    "Charcoal", "Olive", "Rust", "Ivory", "Coral", "Teal", "Mustard", "Blush Pink",
)  # fmt: skip

MATERIALS: dict[str, tuple[str, ...]] = {
    "Outdoor": ("Gore-Tex", "Ripstop Nylon", "Merino Wool", "Recycled Polyester", "Leather"),
    "Fashion": ("Organic Cotton", "Leather", "Linen", "Cashmere", "Denim", "Silk"),
    "Electronics": ("Aluminium", "Matte Plastic", "Glass", "Fabric"),
    "Home": ("Cast Iron", "Stainless Steel", "Oak", "Linen", "Ceramic", "Bamboo"),
    "Beauty": ("Vegan", "Fragrance-Free", "Organic", "Mineral"),
    "Sports": ("Recycled Polyester", "Natural Rubber", "Cork", "Steel", "Mesh"),
    "Kids": ("Organic Cotton", "Wood", "Recycled Plastic", "Fleece"),
    "Grocery": ("Organic", "Fair Trade", "Gluten-Free", "Single Origin"),
    "Garden": ("Terracotta", "Teak", "Powder-Coated Steel", "Recycled Plastic"),
}

# Adjectives that go in front of the product noun, by department.
FEATURES: dict[str, tuple[str, ...]] = {
    "Outdoor": ("Waterproof", "Ultralight", "Insulated", "All-Season", "Packable"),
    "Fashion": ("Classic", "Relaxed-Fit", "Tailored", "Vintage", "Everyday"),
    "Electronics": ("Noise-Cancelling", "Wireless", "Compact", "Pro", "Long-Battery"),
    "Home": ("Non-Stick", "Handcrafted", "Minimalist", "Dimmable", "Stackable"),
    "Beauty": ("Hydrating", "Gentle", "Long-Wear", "Brightening", "Nourishing"),
    "Sports": ("Breathable", "Lightweight", "Heavy-Duty", "Quick-Dry", "Reflective"),
    "Kids": ("Washable", "Educational", "Cosy", "Durable", "Colourful"),
    "Grocery": ("Small-Batch", "Dark Roast", "Family-Size", "Crunchy", "Classic"),
    "Garden": ("Weatherproof", "Ergonomic", "Foldable", "Self-Watering", "Rust-Proof"),
}

STYLES: tuple[str, ...] = ("Classic", "Modern", "Sporty", "Minimal", "Retro", "Rugged")

# Brand names are built from two syllables so that hundreds of them read like real names.
BRAND_HEADS: tuple[str, ...] = (
    "North", "Silver", "Cedar", "Blue", "Iron", "Wild", "Stone", "River", "Bright", "Oak",
    "Summit", "Coast", "Lumen", "Urban", "Fox", "Pine", "Harbor", "Nova", "Terra", "Willow",
    "Aspen", "Maple", "Echo", "Atlas", "Copper", "Vela", "Kestrel", "Juniper", "Sol", "Halo",
)  # fmt: skip
BRAND_TAILS: tuple[str, ...] = (
    "peak", "line", "wood", "field", "craft", "works", "ridge", "stone", "wave", "light",
    "trail", "haus", "ware", "mark", "nest", "form", "loom", "gate", "leaf", "bay",
)  # fmt: skip

REGIONS: tuple[str, ...] = ("Northeast", "Southeast", "Midwest", "Southwest", "West", "Pacific")
AGE_BANDS: tuple[str, ...] = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")

# "Under $N" caps a shopper types, by the size of the category's prices.
PRICE_CAPS: tuple[int, ...] = (10, 25, 50, 100, 200, 500, 1000)
