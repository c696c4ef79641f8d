"""Passages keep tag and text apart; prompts render them exactly as before."""

from llm.types import Passage
from sessions.services import prompt_render


def test_passage_renders_tag_then_text_and_untagged_text_bare() -> None:
    assert (
        Passage(tag="[PDF: a.pdf p.2]", text="Line one.\n  Line two.").render()
        == "[PDF: a.pdf p.2] Line one.\n  Line two."
    )
    assert Passage(tag="", text="As given.").render() == "As given."


def test_prompt_puts_one_passage_per_line_with_its_tag() -> None:
    prompt = prompt_render(
        template="History:\n{history}\nContext:\n{context}\nQ: {question}",
        history=[("What is SAT?", "A method {with braces}.")],
        passages=[
            Passage(tag="[Doc: sat.md]", text="SAT updates\n\n0.8%  of weights."),
            Passage(tag="[Web]", text="x"),
        ],
        question="How much?",
    )
    assert prompt == (
        "History:\nQ: What is SAT?\nA: A method {with braces}.\n"
        "Context:\n[Doc: sat.md] SAT updates 0.8% of weights.\n[Web] x\nQ: How much?"
    )
