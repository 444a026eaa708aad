"""The words shoppers use for what the catalog calls otherwise.

Every table maps a lowercase phrase to catalog names. A synonym only applies when its
target exists in the catalog at hand (``IntentVocabulary`` drops the others), so the same
tables serve the synthetic shop and a real catalog with a different assortment.
"""

from __future__ import annotations

CATEGORY_SYNONYMS: dict[str, tuple[str, ...]] = {
    # Outdoor
    "running shoes": ("Trail Running Shoes", "Sneakers"),
    "shoes": ("Trail Running Shoes", "Sneakers"),
    "trail runners": ("Trail Running Shoes",),
    "trail shoes": ("Trail Running Shoes",),
    "boots": ("Hiking Boots",),
    "walking boots": ("Hiking Boots",),
    "trekking boots": ("Hiking Boots",),
    "tent": ("Tents",),
    "sleeping bag": ("Sleeping Bags",),
    "backpack": ("Backpacks",),
    "rucksack": ("Backpacks",),
    "daypack": ("Backpacks",),
    "jacket": ("Rain Jackets",),
    "raincoat": ("Rain Jackets",),
    "rain coat": ("Rain Jackets",),
    "waterproof jacket": ("Rain Jackets",),
    "camp stove": ("Camp Kitchen",),
    "stove": ("Camp Kitchen",),
    "cook set": ("Camp Kitchen",),
    # Fashion
    "trainers": ("Sneakers",),
    "kicks": ("Sneakers",),
    "dress": ("Dresses",),
    "sweater": ("Knitwear",),
    "jumper": ("Knitwear",),
    "cardigan": ("Knitwear",),
    "knit": ("Knitwear",),
    "handbag": ("Handbags",),
    "purse": ("Handbags",),
    "tote": ("Handbags",),
    "tote bag": ("Handbags",),
    "crossbody bag": ("Handbags",),
    "watch": ("Watches",),
    "shades": ("Sunglasses",),
    # Electronics
    "earbuds": ("Headphones",),
    "earphones": ("Headphones",),
    "headset": ("Headphones",),
    "laptop": ("Laptops",),
    "notebook computer": ("Laptops",),
    "ultrabook": ("Laptops",),
    "phone": ("Smartphones",),
    "mobile phone": ("Smartphones",),
    "cell phone": ("Smartphones",),
    "smartwatch": ("Smartwatches",),
    "fitness tracker": ("Smartwatches",),
    "camera": ("Cameras",),
    "speaker": ("Speakers",),
    "charger": ("Chargers & Cables",),
    "cable": ("Chargers & Cables",),
    "power bank": ("Chargers & Cables",),
    # Home
    "pan": ("Cookware",),
    "frying pan": ("Cookware",),
    "dutch oven": ("Cookware",),
    "saucepan": ("Cookware",),
    "coffee maker": ("Coffee Makers",),
    "coffee machine": ("Coffee Makers",),
    "espresso machine": ("Coffee Makers",),
    "kettle": ("Coffee Makers",),
    "sheets": ("Bedding",),
    "duvet": ("Bedding",),
    "pillow": ("Bedding",),
    "lamp": ("Lighting",),
    "lights": ("Lighting",),
    "basket": ("Storage",),
    "organizer": ("Storage",),
    "organiser": ("Storage",),
    "rug": ("Rugs",),
    "carpet": ("Rugs",),
    # Beauty
    "serum": ("Skincare",),
    "moisturizer": ("Skincare",),
    "moisturiser": ("Skincare",),
    "cleanser": ("Skincare",),
    "skin care": ("Skincare",),
    "lipstick": ("Makeup",),
    "mascara": ("Makeup",),
    "make up": ("Makeup",),
    "cosmetics": ("Makeup",),
    "perfume": ("Fragrance",),
    "cologne": ("Fragrance",),
    "scent": ("Fragrance",),
    "shampoo": ("Hair Care",),
    "conditioner": ("Hair Care",),
    # Sports
    "yoga mat": ("Yoga",),
    "leggings": ("Yoga",),
    "bike": ("Cycling",),
    "bicycle": ("Cycling",),
    "bike light": ("Cycling",),
    "helmet": ("Cycling",),
    "dumbbells": ("Fitness Equipment",),
    "kettlebell": ("Fitness Equipment",),
    "weights": ("Fitness Equipment",),
    "gym equipment": ("Fitness Equipment",),
    "running shorts": ("Running Apparel",),
    "running tights": ("Running Apparel",),
    "running clothes": ("Running Apparel",),
    "running gear": ("Running Apparel",),
    "swimsuit": ("Swimwear",),
    "swimming costume": ("Swimwear",),
    "goggles": ("Swimwear",),
    "soccer ball": ("Team Sports",),
    "football": ("Team Sports",),
    "basketball": ("Team Sports",),
    # Kids
    "toy": ("Toys",),
    "puzzle": ("Toys",),
    "building set": ("Toys",),
    "plush": ("Toys",),
    "kids clothes": ("Kids Clothing",),
    "pajamas": ("Kids Clothing",),
    "pyjamas": ("Kids Clothing",),
    "stroller": ("Baby Gear",),
    "pram": ("Baby Gear",),
    "pushchair": ("Baby Gear",),
    "baby carrier": ("Baby Gear",),
    "high chair": ("Baby Gear",),
    "book": ("Books",),
    "picture book": ("Books",),
    # Grocery
    "coffee": ("Coffee & Tea",),
    "tea": ("Coffee & Tea",),
    "coffee beans": ("Coffee & Tea",),
    "snack": ("Snacks",),
    "chocolate": ("Snacks",),
    "granola": ("Snacks",),
    "trail mix": ("Snacks",),
    "olive oil": ("Pantry",),
    "pasta": ("Pantry",),
    "hot sauce": ("Pantry",),
    "dog food": ("Pet Supplies",),
    "cat litter": ("Pet Supplies",),
    "pet food": ("Pet Supplies",),
    # Garden
    "pruning shears": ("Garden Tools",),
    "shears": ("Garden Tools",),
    "trowel": ("Garden Tools",),
    "planter": ("Planters",),
    "raised bed": ("Planters",),
    "patio furniture": ("Outdoor Furniture",),
    "garden furniture": ("Outdoor Furniture",),
    "hammock": ("Outdoor Furniture",),
}

DEPARTMENT_SYNONYMS: dict[str, tuple[str, ...]] = {
    "outdoors": ("Outdoor",),
    "camping": ("Outdoor",),
    "hiking": ("Outdoor",),
    "clothes": ("Fashion",),
    "clothing": ("Fashion",),
    "apparel": ("Fashion",),
    "tech": ("Electronics",),
    "gadgets": ("Electronics",),
    "homeware": ("Home",),
    "kitchen": ("Home",),
    "cosmetics": ("Beauty",),
    "sport": ("Sports",),
    "fitness": ("Sports",),
    "children": ("Kids",),
    "groceries": ("Grocery",),
    "food": ("Grocery",),
    "gardening": ("Garden",),
}

# Plain colour words to the catalog's shades.
COLOUR_SYNONYMS: dict[str, tuple[str, ...]] = {
    "grey": ("Slate Grey", "Charcoal"),
    "gray": ("Slate Grey", "Charcoal"),
    "slate gray": ("Slate Grey",),
    "green": ("Forest Green", "Olive"),
    "blue": ("Navy", "Sky Blue", "Teal"),
    "navy blue": ("Navy",),
    "light blue": ("Sky Blue",),
    "red": ("Burgundy", "Rust", "Coral"),
    "maroon": ("Burgundy",),
    "pink": ("Blush Pink", "Coral"),
    "beige": ("Sand",),
    "tan": ("Sand",),
    "brown": ("Rust", "Sand"),
    "cream": ("Ivory",),
    "off white": ("Ivory",),
    "yellow": ("Mustard",),
    "orange": ("Rust", "Coral"),
    "turquoise": ("Teal",),
}

MATERIAL_SYNONYMS: dict[str, tuple[str, ...]] = {
    "goretex": ("Gore-Tex",),
    "nylon": ("Ripstop Nylon",),
    "wool": ("Merino Wool", "Cashmere"),
    "merino": ("Merino Wool",),
    "polyester": ("Recycled Polyester",),
    "recycled": ("Recycled Polyester", "Recycled Plastic"),
    "cotton": ("Organic Cotton",),
    "aluminum": ("Aluminium",),
    "plastic": ("Matte Plastic", "Recycled Plastic"),
    "iron": ("Cast Iron",),
    "stainless": ("Stainless Steel",),
    "wooden": ("Wood", "Oak", "Teak"),
    "rubber": ("Natural Rubber",),
    "unscented": ("Fragrance-Free",),
    "fragrance free": ("Fragrance-Free",),
    "gluten free": ("Gluten-Free",),
    "fairtrade": ("Fair Trade",),
}

# "for my sister": who the present is for. Only ever changes the explanation.
RECIPIENTS: dict[str, str] = {
    "sister": "sister",
    "brother": "brother",
    "mom": "mom",
    "mum": "mum",
    "mother": "mother",
    "dad": "dad",
    "father": "father",
    "parents": "parents",
    "wife": "wife",
    "husband": "husband",
    "girlfriend": "girlfriend",
    "boyfriend": "boyfriend",
    "partner": "partner",
    "son": "son",
    "daughter": "daughter",
    "kids": "kids",
    "kid": "kid",
    "child": "child",
    "children": "children",
    "baby": "baby",
    "friend": "friend",
    "best friend": "best friend",
    "grandma": "grandma",
    "grandmother": "grandmother",
    "grandpa": "grandpa",
    "grandfather": "grandfather",
    "niece": "niece",
    "nephew": "nephew",
    "aunt": "aunt",
    "uncle": "uncle",
    "boss": "boss",
    "colleague": "colleague",
    "coworker": "coworker",
    "teacher": "teacher",
    "her": "her",
    "him": "him",
    "myself": "yourself",
    "me": "yourself",
}

OCCASIONS: dict[str, str] = {
    "birthday": "birthday",
    "bday": "birthday",
    "christmas": "Christmas",
    "xmas": "Christmas",
    "holiday": "the holidays",
    "holidays": "the holidays",
    "anniversary": "anniversary",
    "wedding": "wedding",
    "graduation": "graduation",
    "housewarming": "housewarming",
    "baby shower": "baby shower",
    "mothers day": "Mother's Day",
    "mother s day": "Mother's Day",
    "fathers day": "Father's Day",
    "father s day": "Father's Day",
    "valentines day": "Valentine's Day",
    "valentine s day": "Valentine's Day",
    "valentines": "Valentine's Day",
}

GIFT_WORDS: frozenset[str] = frozenset({"gift", "gifts", "present", "presents"})

BUDGET_WORDS: frozenset[str] = frozenset(
    {"cheap", "cheaper", "budget", "inexpensive", "affordable", "bargain", "low cost"}
)
PREMIUM_WORDS: frozenset[str] = frozenset(
    {"premium", "luxury", "luxurious", "high end", "upscale", "top end", "designer"}
)

# Words that carry no wish of their own; whatever else is left becomes free-text terms.
_STOPWORD_TEXT = """
    a an the and or of for to in on at by with without from into my me i im i'm we our you
    your some any something anything things thing stuff please pls want wants wanted need
    needs looking look find show get buy buying shop shopping like would could can me
    new nice good great best recommend recommendation recommendations suggest idea ideas
    is are be it its this that these those which what who whom under over below above less
    more than between about around dollars dollar bucks usd price priced prices cost costs
    up max maximum min minimum most least only just also very really so too her him his
    their them she he they as if not no do does will should maybe perhaps kind sort type one
    ones size sizes sized rated people person loves love likes
"""
STOPWORDS: frozenset[str] = frozenset(_STOPWORD_TEXT.split())
