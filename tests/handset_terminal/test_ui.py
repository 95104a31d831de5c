"""The UI answer language and the interactive prompt."""

from __future__ import annotations

import io

import pytest

from simsync.errors import SimsyncError
from simsync.handset.ui import (
    Move,
    PromptUi,
    Question,
    QuestionKind,
    ScriptedUi,
    UiAnswer,
    match_item,
)


def test_answer_parsing():
    assert UiAnswer.parse("hello") == UiAnswer(Move.ANSWER, "hello")
    assert UiAnswer.parse("!BACK") == UiAnswer(Move.BACK)
    assert UiAnswer.parse("") == UiAnswer(Move.ANSWER, "")
    with pytest.raises(SimsyncError, match="unknown answer"):
        UiAnswer.parse("!later")
    with pytest.raises(SimsyncError):
        UiAnswer.parse("!answer")


def test_match_item_prefers_text_then_number():
    items = [(1, "Sync"), (2, "1"), (3, "Help")]
    assert match_item(items, "sync") == 1
    assert match_item(items, "1") == 2        # the item whose text is "1"
    assert match_item(items, "3") == 3
    assert match_item(items, "9") is None and match_item(items, "nope") is None


def test_scripted_ui_runs_out_into_timeouts():
    ui = ScriptedUi(["a"])
    q = Question(QuestionKind.INPUT, "Name?")
    assert ui.ask(q) == UiAnswer(Move.ANSWER, "a")
    assert ui.ask(q) == UiAnswer(Move.TIMEOUT)
    assert ui.asked == [q, q]


def test_prompt_ui_reads_lines():
    out = io.StringIO()
    ui = PromptUi(out, io.StringIO("Calendar\n!back\n"))
    q = Question(QuestionKind.SELECT, "Which?", ((1, "Contacts"), (2, "Calendar")))
    assert ui.ask(q) == UiAnswer(Move.ANSWER, "Calendar")
    assert ui.ask(q) == UiAnswer(Move.BACK)
    assert ui.ask(q) == UiAnswer(Move.END)   # end of input: the user walked away
    ui.display("Done")
    text = out.getvalue()
    assert "[SIM] Which?" in text and "  2  Calendar" in text and "[SIM] Done" in text


def test_prompt_does_not_echo_hidden_input_on_a_terminal(monkeypatch):
    """GET INPUT "hide input" at an interactive prompt: read without echo (getpass), not with a
    readline that shows the digits on the screen."""
    import simsync.handset.ui as ui_mod

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    used = []
    monkeypatch.setattr(ui_mod.getpass, "getpass",
                        lambda prompt="", stream=None: used.append(prompt) or "4321")
    out = io.StringIO()
    ui = PromptUi(out, Tty("echoed\n"))
    assert ui.ask(Question(QuestionKind.INPUT, "PIN?", hidden=True)) == UiAnswer(Move.ANSWER,
                                                                                "4321")
    assert used == [""]
    # not hidden: the line typed
    assert ui.ask(Question(QuestionKind.INPUT, "Name?")) == UiAnswer(Move.ANSWER, "echoed")
