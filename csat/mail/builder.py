"""The builder: a forked process that builds a send's messages ahead of the sender.

Building a message (form, letter, MIME) costs about as much as the client's
side of sending it, so for a large round one forked process builds ahead
while the sending process sends and records outcomes: two cores work at once.
It is forked as soon as the run knows it is large, so its start-up (openpyxl
alone takes a quarter of a second to import) overlaps the planning
transaction; the round's forms follow as its first task. It runs at a lower
priority: the sender, and an SMTP server on the same machine, are what the
run waits for, and the builder stays ahead anyway (measured on 2 busy cores,
a 2,000-message send is about a tenth faster). Ctrl-C is the sender's to
handle: the builder ignores it. Small runs, and systems without fork, build
in line.
"""

from __future__ import annotations

import os
import signal
from typing import Iterator

# Below this many messages a builder process costs more than it saves.
PARALLEL_BUILD_MIN = 64
BUILDER_NICENESS = 5

_forms = None


def build(forms, recipient):
    """(outbox name, message ready to send) for one recipient, or the reason it cannot be built."""
    try:
        return forms.message_name(recipient), forms.prepared(recipient)
    except ValueError as exc:
        return str(exc)


def _start() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        os.nice(BUILDER_NICENESS)
    except OSError:
        pass
    # Warm up while the sender plans: the imports and templates every message needs.
    import openpyxl  # noqa: F401

    from csat.templating import template

    for name in ("email/invitation.txt", "email/invitation.html"):
        template(name)


def _receive(forms) -> None:
    global _forms
    _forms = forms


def _build_here(recipient):
    return build(_forms, recipient)


def can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


class Builder:
    """One builder process; `messages()` yields (recipient, built) in order. Use as a context manager."""

    def __init__(self):
        import multiprocessing

        self._pool = multiprocessing.get_context("fork").Pool(1, initializer=_start)

    def __enter__(self) -> "Builder":
        return self

    def __exit__(self, *exc_info) -> None:
        self._pool.terminate()
        self._pool.join()

    def messages(self, forms, recipients) -> Iterator:
        # One process takes the tasks in order: the forms arrive before the first recipient.
        self._pool.apply_async(_receive, (forms,))
        yield from zip(recipients, self._pool.imap(_build_here, recipients, chunksize=16))


def built_messages(forms, recipients, builder: Builder | None = None) -> Iterator:
    """(recipient, (outbox name, prepared message) or error text), in order: from `builder`, from a
    builder started here for a large run, or built in line."""
    if builder is not None:
        yield from builder.messages(forms, recipients)
    elif len(recipients) >= PARALLEL_BUILD_MIN and can_fork():
        with Builder() as started:
            yield from started.messages(forms, recipients)
    else:
        for recipient in recipients:
            yield recipient, build(forms, recipient)
