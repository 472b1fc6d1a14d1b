"""Finding: one thing `doctor` judged, how it stands, what it found, and what to do."""

OK, NOTE, PROBLEM = "ok", "note", "problem"  # only a problem makes `doctor` exit 1


class Finding:
    """One judgement: its topic, its state (ok, note, problem), the facts, the remedy."""

    __slots__ = ("detail", "name", "state", "todo")

    def __init__(self, name: str, state: str, detail: str, todo: str | None = None) -> None:
        self.name = name
        self.state = state
        self.detail = detail
        self.todo = todo

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "state": self.state, "detail": self.detail,
                "todo": self.todo}
