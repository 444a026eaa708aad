"""What an explanation may claim, and which evidence allows each claim.

Each ``Claim`` is a pattern over the (lower-cased, evidence-masked) text and the set of
reason codes that support it. A claim with no supporting codes is never allowed: there is
no evidence in Shopmode for free shipping, bundles, ratings or stock levels, so a text
that mentions them was invented. Claims about the product itself (its features, quality,
design, audience, standing in the market) have no supporting code either: they pass only
when every word of the claim is the evidence's own (a title that says "Ergonomic").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from features.events.rules import EventType

AFFINITY = frozenset(
    {"category_affinity", "brand_affinity", "liked_category", "followed_brand", "recently_viewed"}
)
VIEWS = frozenset(
    {"recently_viewed", "similar_to_recent", "co_viewed", "category_affinity", "brand_affinity"}
)
TOGETHER = frozenset({"bought_together", "co_viewed"})
TRENDING = frozenset({"trending", "region_trending"})


# Who a behaviour claim is about: the shopper, however the model refers to them.
SUBJECT = r"(?:you|the\s+shopper|they|he|she)"


@dataclass(frozen=True)
class Claim:
    kind: str  # the rejection kind reported in verdicts and metrics
    name: str
    pattern: re.Pattern[str]
    supported_by: frozenset[str] = frozenset()
    # a fact key containing any of these words also supports the claim
    fact_words: tuple[str, ...] = ()


def _p(regex: str) -> re.Pattern[str]:
    return re.compile(regex, re.IGNORECASE)


CLAIMS: tuple[Claim, ...] = (
    # --- the shopper's own behaviour ------------------------------------------------
    Claim(
        "behaviour",
        "shopper purchase",
        _p(
            rf"\b{SUBJECT}(?:'ve|\s+have|\s+has|\s+had)?\s+(?:already\s+|recently\s+|just\s+|previously\s+)?"
            r"(?:bought|purchased|ordered|own|owned)\b"
            r"|\byour\s+(?:recent\s+|last\s+|past\s+|previous\s+)?(?:purchase|order)s?\b"
            r"|\b(?:buy\w*|order\w*)\s+(?:it\s+|them\s+)?again\b|\bre-?order\w*|\brestock\w*"
            r"|\b(?:chose|chosen|picked\s+up|grabbed|decided\s+to\s+buy|already\s+own)\b"
        ),
        frozenset({"repurchase", "bought_before"}),
        (EventType.PURCHASE,),
    ),
    Claim(
        "behaviour",
        "purchase",
        _p(r"\b(?:bought|purchased|purchases|ordered)\b|\bbuy\w*\b[^.!?]{0,25}\btogether\b"),
        frozenset({"bought_together", "repurchase", "bought_before"}),
        (EventType.PURCHASE,),
    ),
    Claim(
        "behaviour",
        "cart",
        _p(r"\b(?:cart|basket|checkout|wish\s?list|saved)\b"),
        frozenset({"in_cart", "abandoned_cart"}),
        ("cart", "wishlist"),
    ),
    Claim(
        "behaviour",
        "view",
        _p(
            r"\b(?:viewed|views|viewing|looked\s+at|browsed|browsing|checked\s+out|visited"
            r"|clicked|seen|saw)\b|\bcaught\s+your\s+eye\b"
        ),
        VIEWS,
        (EventType.VIEW,),
    ),
    Claim(
        "behaviour",
        "search",
        _p(
            r"\b(?:searched|searches|searching|typed|query|requested|asked\s+for)\b"
            r"|\b(?:your|their|the\s+shopper's)\s+(?:search|request)\b"
        ),
        frozenset({"query_match"}),
        ("query",),
    ),
    Claim(
        "behaviour",
        "follow",
        _p(r"\b(?:follow|follows|followed|following)\b"),
        frozenset({"followed_brand"}),
    ),
    Claim(
        "behaviour",
        "like",
        _p(
            rf"\b{SUBJECT}(?:'ve|\s+have)?\s+(?:really\s+|always\s+)?(?:liked?|loves?|loved|adores?)\b"
            r"|\bfavou?rite\b|\b(?:liked|favou?rited|admired?)\b"
        ),
        frozenset({"liked_category", "category_affinity", "brand_affinity", "followed_brand"}),
    ),
    Claim(
        "behaviour",
        "interest",
        _p(
            r"\b(?:shown\s+interest|interacted|engaged|keep\s+coming\s+back|come\s+back\s+to"
            r"|returning\s+to)\b"
        ),
        AFFINITY,
    ),
    Claim(
        "rating",
        "review or rating",
        _p(
            r"\b(?:reviews?|reviewed|reviewers?|rated|ratings?|stars?|\d[\s-]?star"
            r"|five[\s-]star|top[\s-]rated|highly[\s-]rated|testimonials?)\b"
        ),
        frozenset(),
        ("rating", "review"),
    ),
    # --- offers and shop claims -----------------------------------------------------
    Claim(
        "offer",
        "free item or shipping",
        _p(
            r"\bfree\b|\b(?:shipping|delivery|delivered|ships|dispatch\w*)\b|\bbundle\w*"
            r"|\b(?:coupon|voucher|promo\w*|code|gift\w*|cashback|loyalty|points|rewards?)\b"
        ),
    ),
    Claim(
        "offer",
        "guarantee or stock",
        _p(
            r"\b(?:warrant\w*|guarantee\w*|money[\s-]back|returns?|refund\w*|in\s+stock"
            r"|out\s+of\s+stock|stock|sold\s+out|selling\s+fast|left\s+in|limited|exclusive\w*"
            r"|hurry|act\s+now|don't\s+miss|while\s+supplies|last\s+chance|only\s+\w+\s+left"
            r"|customer\s+(?:service|support|care)|support\s+team|satisfaction)\b"
        ),
    ),
    Claim(
        "offer",
        "best-seller or award",
        _p(
            r"\bbest[\s-]?sell\w*|\btop[\s-]?sell\w*|#\s?1\b|\bnumber\s+one\b|\baward\w*"
            r"|\bbest\s+(?:seller|choice\s+of\s+shoppers)\b|\bcertified\b|\bofficial\b"
        ),
    ),
    Claim(
        "offer",
        "quality or superlative",
        _p(
            r"\btop[\s-]of[\s-]the[\s-]line\b|\b(?:high|top|premium|superior|great|best)[\s-]quality\b"
            r"|\bluxur\w*|\bfinest\b|\bsuperior\b|\bworld[\s-]class\b|\bstate[\s-]of[\s-]the[\s-]art\b"
            r"|\bthe\s+best\b|\bunbeatable\b|\bunmatched\b|\bflawless\b|\bdurable\b|\blong[\s-]lasting\b"
            r"|\bguaranteed\b|\bworld'?s\b"
        ),
    ),
    Claim(
        "offer",
        "discount",
        _p(
            r"\b(?:sale|discount\w*|save|saves|saving|savings|deals?|bargain|reduced"
            r"|markdown|marked\s+down|clearance|price\s+drop)\b|(?:%|percent)\s*off\b"
            r"|\boff\s+(?:the\s+)?(?:regular|original|usual|normal|list)\s+price"
        ),
        frozenset({"discount"}),
        ("discount",),
    ),
    Claim(
        "offer",
        "trending",
        _p(r"\btrend\w*|\bhot\s+right\s+now\b|\bbuzz\w*|\bviral\b"),
        TRENDING,
    ),
    Claim(
        "offer",
        "popular",
        _p(
            r"\b(?:popular|popularity|crowd[\s-]favou?rite|fan[\s-]favou?rite|most[\s-]loved"
            r"|in\s+demand|everyone\s+loves)\b|\bfavou?rite\s+(?:among|with|of)\b"
        ),
        frozenset({"popular"}) | TRENDING,
    ),
    Claim(
        "offer",
        "new arrival",
        _p(
            r"\b(?:new\s+arrivals?|just\s+arrived|just\s+launched|brand[\s-]new|newly|new\s+in"
            r"|latest|launched|arrived|debut\w*)\b"
        ),
        frozenset({"new_arrival"}),
    ),
    Claim(
        "offer",
        "together",
        _p(
            r"\b(?:together|also\s+(?:bought|viewed|liked)|shoppers\s+who|customers\s+who"
            r"|people\s+who|others\s+who)\b"
        ),
        TOGETHER,
    ),
    # --- what the product is or does: nothing in the evidence says so --------------
    Claim(
        "property",
        "features or specifications",
        _p(
            r"\b(?:features?|featured|feature[\s-](?:packed|rich)|functions?|functionality"
            r"|specs|specifications?|technology|technologies|performance|capabilit(?:y|ies)"
            r"|settings|innovative|cutting[\s-]edge|advanced|smart\s+design)\b"
        ),
    ),
    Claim(
        "property",
        "quality or design",
        _p(
            r"\b(?:quality|well[\s-]made|well[\s-]built|craftsmanship|built\s+to\s+last"
            r"|reliab\w+|sturdy|dependable|comfort\w*|versatil\w+|stylish|style|sleek|elegant"
            r"|design|designs|designed|engineered|crafted|efficient|effective|powerful|precis\w+"
            r"|ergonomic\w*|beautiful\w*|gorgeous|stunning|amazing|incredible|impressive)\b"
        ),
    ),
    Claim(
        "property",
        "focus or reputation",
        _p(
            r"\bfocus(?:es|ed|ing)?\s+on\b|\b(?:known|famous|renowned|praised|celebrated)"
            r"\s+for\b|\bspeciali[sz]\w*|\bdedicated\s+to\b|\breputation\b|\biconic\b"
        ),
    ),
    Claim(
        "audience",
        "audience or use",
        _p(
            r"\b(?:perfect|ideal|great|suitable|designed|made|built|good|best|essential"
            r"|must[\s-]have)\s+for\s+(?!you\b|your\b|yourself\b|it\b|this\b)\w+"
            r"|\bfor\s+(?:anyone|everyone|those|people|beginners|professionals|experts|kids"
            r"|children|families|men|women|athletes|travell?ers|adults|seniors|students)\b"
            r"|\b\w+\s+(?:lovers|enthusiasts|fanatics|aficionados|connoisseurs|junkies)\b"
            r"|\b(?:customers|users|consumers|buyers|experts|critics|parents|professionals)"
            r"\s+(?:love|loves|say|rave|recommend|agree|swear|praise|adore|trust|prefer)\b"
            # "a favourite among pet owners / the team / Camp Kitchen members": a group of
            # people; "you're a loyal customer": who the shopper is
            r"|\bamong\s+(?:the\s+)?(?:\S+\s+){0,2}(?:owners|team|teams|fans|people|parents"
            r"|families|kids|children|travell?ers|athletes|experts|professionals|students"
            r"|gamers|campers|hikers|cyclists|runners|cooks|chefs|users|beginners|everyone"
            r"|members|customers|shoppers|buyers)\b"
            r"|\bloyal\s+(?:customer|fan|shopper|buyer|follower)s?\b"
        ),
    ),
    Claim(
        "audience",
        "the shopper's plans",
        _p(
            r"\b(?:adventures?|journeys?|trips?|outings?|vacations?|holidays?|getaways?"
            r"|workouts?|lifestyle|routines?|occasions?|expeditions?|travels?)\b"
            r"|\byour\s+next\s+\w+"
        ),
    ),
    Claim(
        "market",
        "market comparison",
        _p(
            r"\b(?:market|marketplace|industry|competitors?|competition|out\s+there"
            r"|on\s+the\s+planet|in\s+the\s+world|of\s+all\s+time|ever\s+made|anywhere"
            r"|unlike\s+(?:other|any)|compared\s+to|than\s+(?:other|any|most))\b"
            r"|\b(?:customers|consumers|clients|sales|revenue|profits?|business|company"
            r"|delay(?:s|ed)?)\b"
        ),
    ),
    Claim(
        "price",
        "price judgement",
        _p(
            r"\b(?:cheap\w*|affordable|inexpensive|budget|low[\s-]price\w*|great\s+price"
            r"|good\s+value|great\s+value|value\s+for\s+money|pay|spend|typically|usually)\b"
        ),
        frozenset({"price_fit", "discount"}),
        ("price",),
    ),
)

URL = re.compile(r"https?://|www\.|\b[\w-]+\.(?:com|net|org|io|shop|store|co)\b|@\w+\.", re.I)

INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b[^.!?]{0,40}\b(?:instructions?|previous|above"
    r"|rules?|prompt)\b|\b(?:system\s+prompt|prompt|instructions?|as\s+an\s+ai|language\s+model"
    r"|assistant|chatgpt|openai|i\s+cannot|i\s+can't|i'm\s+sorry|i\s+am\s+sorry|evidence|facts"
    r"|json|tokens?|one\s+short\s+sentence|using\s+only|the\s+above|double\s+quotes|data)\b"
    r"|<\|?\w*\|?>|\b(?:user|system|assistant)\s*:|```|\{\{|\}\}",
    re.IGNORECASE,
)
