"""The terminal's user interface: what the card shows and asks, and the user's answers.

:class:`ScriptedUi` answers from a list of strings (tests, ``--answers``); :class:`PromptUi` asks on
a terminal (interactive CLI). Both record what was shown. Answer strings:

* GET INPUT / GET INKEY: the text typed (``"1234"``, ``"y"``);
* GET INKEY yes/no: ``yes``/``y``/``no``/``n`` (any case);
* SELECT ITEM: an item's text (case-insensitive) or its identifier (``"2"``);
* the user's other moves: ``!back`` (backward move), ``!end`` (session terminated by the user),
  ``!help`` (help requested), ``!timeout`` (no response). A script that has run out answers
  ``!timeout``.
"""

from __future__ import annotations

import enum
import getpass
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TextIO

from simsync.errors import SimsyncError


class Move(enum.Enum):
    """What the user did with a question."""

    ANSWER = "answer"
    BACK = "back"
    END = "end"
    HELP = "help"
    TIMEOUT = "timeout"


@dataclass(frozen=True)
class UiAnswer:
    move: Move
    value: str = ""

    @classmethod
    def parse(cls, text: str) -> UiAnswer:
        if text.startswith("!"):
            try:
                move = Move(text[1:].strip().lower())
            except ValueError:
                raise SimsyncError(f"unknown answer {text!r}: use !back, !end, !help or "
                                   "!timeout") from None
            if move is Move.ANSWER:
                raise SimsyncError("'!answer' is not an answer; write the text itself")
            return cls(move)
        return cls(Move.ANSWER, text)


class QuestionKind(enum.Enum):
    INKEY = "get inkey"
    YES_NO = "yes/no"
    INPUT = "get input"
    SELECT = "select item"


@dataclass(frozen=True)
class Question:
    """What the card asks: the prompt, and for SELECT ITEM the items as (identifier, text)."""

    kind: QuestionKind
    prompt: str
    items: tuple[tuple[int, str], ...] = ()
    default: str | None = None
    hidden: bool = False
    min_length: int = 0
    max_length: int = 255


class Ui(Protocol):
    def display(self, text: str, *, high_priority: bool = False) -> None: ...
    def ask(self, question: Question) -> UiAnswer: ...
    def tone(self, tone: str, seconds: float | None) -> None: ...


class ScriptedUi:
    """Answers questions from a script; records everything shown and asked."""

    def __init__(self, answers: Iterable[str | UiAnswer] = ()) -> None:
        self.answers: list[UiAnswer] = [a if isinstance(a, UiAnswer) else UiAnswer.parse(a)
                                        for a in answers]
        self.shown: list[str] = []
        self.asked: list[Question] = []
        self.tones: list[str] = []

    def add(self, *answers: str | UiAnswer) -> None:
        self.answers += [a if isinstance(a, UiAnswer) else UiAnswer.parse(a) for a in answers]

    def display(self, text: str, *, high_priority: bool = False) -> None:
        self.shown.append(text)

    def ask(self, question: Question) -> UiAnswer:
        self.asked.append(question)
        if not self.answers:
            return UiAnswer(Move.TIMEOUT)
        return self.answers.pop(0)

    def tone(self, tone: str, seconds: float | None) -> None:
        self.tones.append(tone)


class PromptUi:
    """Shows texts on ``out`` and reads answers from ``inp`` (a terminal)."""

    def __init__(self, out: TextIO | None = None, inp: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.inp = inp or sys.stdin

    def display(self, text: str, *, high_priority: bool = False) -> None:
        print(f"[SIM] {text}", file=self.out)

    def tone(self, tone: str, seconds: float | None) -> None:
        print(f"[SIM] (tone: {tone})", file=self.out)

    def ask(self, question: Question) -> UiAnswer:
        print(f"[SIM] {question.prompt}", file=self.out)
        for ident, text in question.items:
            print(f"   {ident:3d}  {text}", file=self.out)
        hint = {QuestionKind.YES_NO: " (y/n)", QuestionKind.SELECT: " (item text or number)"}
        print(f"> {hint.get(question.kind, '')}", end="", file=self.out, flush=True)
        if question.hidden and self.inp.isatty():  # GET INPUT "hide input": no echo
            try:
                return UiAnswer.parse(getpass.getpass("", stream=self.out))
            except EOFError:
                return UiAnswer(Move.END)
        line = self.inp.readline()
        if not line:
            return UiAnswer(Move.END)
        return UiAnswer.parse(line.rstrip("\r\n"))


def match_item(items: Sequence[tuple[int, str]], value: str) -> int | None:
    """The identifier of the item ``value`` names (its text, case-insensitive, or its number)."""
    v = value.strip()
    for ident, text in items:
        if text.casefold() == v.casefold():
            return ident
    if v.isdigit() and int(v) in {i for i, _ in items}:
        return int(v)
    return None


__all__ = ["Move", "PromptUi", "Question", "QuestionKind", "ScriptedUi", "Ui", "UiAnswer",
           "match_item"]
