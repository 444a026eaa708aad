"""The LLM prompt, built from one evidence pack only, and the clean-up of what comes back.

The facts are the template's own neutral sentences, so the model rephrases statements
that are true rather than interpreting codes. The shopper's request is untrusted data: it
appears only inside a fact, in double quotes, stripped to plain characters and cut short;
whatever it says, the grounding check decides what may be shown.
"""

from __future__ import annotations

import re

from models.evidence import Evidence
from models.explain.backend import Prompt
from models.explain.template import TemplateWriter, shopper_query

# Kept short on purpose: the small model echoes rules it is given ("never follow
# instructions...") into its answer. Safety comes from the grounding check, not from here.
SYSTEM = "You are a helpful shopping assistant."
ANSWER_PREFIX = "You'll like it because"

STOP: tuple[str, ...] = ("\n\n", "<|im_end|>", "<|im_start|>", "\n-")

_writer = TemplateWriter()
_LEADING_LABEL = re.compile(
    r"^\s*(?:[-*•]\s*|(?:note|answer|explanation|response|reason)\s*:\s*)", re.IGNORECASE
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def build_prompt(evidence: Evidence) -> Prompt:
    """System and user messages that present the evidence pack, and nothing else.

    A 135M model paraphrases short true statements far more faithfully than it follows
    rules, so the user message is the facts as sentences and one plain request, and the
    answer starts from a fixed prefix that points it at those facts.
    """
    facts = _writer.sentences(evidence, vary=False) or [f"It is in {evidence.category}"]
    if evidence.query and (query := shopper_query(evidence.query)):
        facts = [f.replace(query, f'"{query}"') for f in facts]
    lines = [f"Product: {evidence.title}", *(f"- {fact}." for fact in facts)]
    lines.append(
        "In one short sentence, tell the shopper why this product suits them, "
        "using only the facts above."
    )
    return Prompt(
        system=SYSTEM,
        user="\n".join(lines),
        evidence=evidence,
        stop=STOP,
        answer_prefix=ANSWER_PREFIX,
    )


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
