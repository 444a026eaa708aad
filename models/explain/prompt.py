"""The LLM prompt, built from one evidence pack only, and the clean-up of what comes back.

Prompt styles, each measured with the shipped 135M model (``python -m bench.bench_llm
--styles``; the figures are in docs/explanations.md):

- ``plain``: every fact as the template's neutral sentence, a fixed answer prefix.
- ``personal``: fewer, stronger facts: the shopper's strongest own fact first, then one
  other; a 135M model paraphrases two short true sentences far better than five.
- ``prefix``: as ``personal``, and the answer starts from the shopper: its first words
  are the opening clause of the strongest personal fact (``models.explain.openings``).
- ``fewshot``: as ``prefix``, with two worked examples as earlier chat turns.
- ``grammar``: as ``prefix``, and a llama.cpp grammar holds the rest of the answer to one
  sentence of plain lower-case words and the evidence's own names (no digits, no other
  capitalised names); backends without grammars ignore it.

The shopper's request is untrusted data: it appears only inside a fact, in double quotes,
stripped to plain characters and cut short; whatever it says, the grounding check decides
what may be shown.
"""

from __future__ import annotations

import json
import re
from typing import Literal, get_args

from models.evidence import Evidence
from models.explain.backend import Prompt
from models.explain.openings import NEUTRAL, opening
from models.explain.personal import PERSONAL_CODES, personal_reasons
from models.explain.template import PHRASINGS, TemplateWriter, shopper_query

PromptStyle = Literal["plain", "personal", "prefix", "fewshot", "grammar"]
STYLES: tuple[str, ...] = get_args(PromptStyle)
DEFAULT_STYLE: PromptStyle = "fewshot"

# Kept short on purpose: the small model echoes rules it is given ("never follow
# instructions...") into its answer. Safety comes from the grounding check, not from here.
SYSTEM = "You are a helpful shopping assistant."
ANSWER_PREFIX = NEUTRAL
REQUEST = (
    "In one short sentence, tell the shopper why this product suits them, "
    "using only the facts above."
)
STOP: tuple[str, ...] = ("\n\n", "<|im_end|>", "<|im_start|>", "\n-")

# Worked examples for the few-shot style: invented shop names, so that a copied name is
# caught by the grounding check rather than passing as this catalog's.
EXAMPLES: tuple[tuple[str, str], ...] = (
    (
        "Product: Lumo Reading Lamp\n- You follow Lumo.\n- It's trending in Lamps right now.\n"
        + REQUEST,
        "Since you follow Lumo, this reading lamp is an easy one to add, and it's trending "
        "in Lamps right now.",
    ),
    (
        "Product: Tarn Wool Beanie\n- You viewed 3 Hats items in the last 7 days.\n"
        "- It's a popular choice in Hats.\n" + REQUEST,
        "Since Hats caught your eye 3 times in the last 7 days, this beanie is a natural "
        "next pick.",
    ),
)

_writer = TemplateWriter()
_LEADING_LABEL = re.compile(
    r"^\s*(?:[-*•]\s*|(?:note|answer|explanation|response|reason)\s*:\s*)", re.IGNORECASE
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _facts(evidence: Evidence, style: str) -> list[str]:
    if style == "plain":
        return _writer.sentences(evidence, vary=False)
    # Strongest personal fact first, then the strongest other one: two short true sentences.
    ordered = evidence.ordered_reasons()
    personal = personal_reasons(evidence)
    others = [r for r in ordered if r.code not in PERSONAL_CODES]
    chosen = [*personal[:1], *others[:1]] if personal else others[:2]
    pack = evidence.model_copy(update={"reasons": chosen})
    return _writer.sentences(pack, vary=False)


def build_prompt(evidence: Evidence, style: str = DEFAULT_STYLE) -> Prompt:
    """System and user messages that present the evidence pack, and nothing else."""
    facts = _facts(evidence, style) or [f"It is in {evidence.category}"]
    if evidence.query and (query := shopper_query(evidence.query)):
        facts = [f.replace(query, f'"{query}"') for f in facts]
    lines = [f"Product: {evidence.title}", *(f"- {fact}." for fact in facts), REQUEST]
    prefix = ANSWER_PREFIX if style in ("plain", "personal") else opening(evidence)[0]
    return Prompt(
        system=SYSTEM,
        user="\n".join(lines),
        evidence=evidence,
        stop=STOP,
        answer_prefix=prefix,
        examples=EXAMPLES if style == "fewshot" else (),
        grammar=answer_grammar(evidence) if style == "grammar" else None,
    )


def answer_grammar(evidence: Evidence) -> str:
    """GBNF for the rest of one sentence: lower-case words, commas and the pack's own names.

    Digits, currency and capitalised words other than the evidence's names cannot be
    produced at all, so a number or a name the evidence lacks is never even written.
    """
    names = {evidence.title, evidence.brand, evidence.category}
    for reason in evidence.reasons:
        if reason.code in PHRASINGS:
            names.update(v for v in reason.facts.values() if isinstance(v, str))
    quoted = " | ".join(json.dumps(n) for n in sorted(n.strip() for n in names if n.strip()))
    rules = [
        'root ::= piece{3,28} "."',
        'piece ::= " " (word | name) ","?',
        'word ::= [a-z]{1,16} ("\'" [a-z]{1,2})?',
        f"name ::= {quoted}" if quoted else 'name ::= "it"',
    ]
    return "\n".join(rules) + "\n"


def clean_output(raw: str, max_sentences: int = 2) -> str:
    """The model's text as it could be shown: one line, at most two complete sentences.

    A trailing fragment cut off by the token cap is dropped; a text with no complete
    sentence comes back empty (and will be rejected).
    """
    text = raw.replace("<|im_end|>", " ").strip()
    text = _LEADING_LABEL.sub("", text)
    text = " ".join(text.split()).strip().strip("\"'“”").strip()
    sentences: list[str] = []
    for piece in _SENTENCE_END.split(text):
        piece = _LEADING_LABEL.sub("", piece).strip()
        if not piece.endswith((".", "!", "?")) or len(sentences) == max_sentences:
            break
        if piece not in sentences:  # small models like to say it twice
            sentences.append(piece)
    return " ".join(sentences)
