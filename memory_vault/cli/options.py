"""Commands: the options every command shares, and the one decorator that runs them.

A command's function returns the action to run (settings and logs in, a result out), or a
`Job` when it needs more than the defaults; `runs` hands it to `guard.run_guarded`, which
decides the exit code, and to `render`, which prints the result as text or JSON.
"""

import functools
from collections.abc import Callable
from typing import Any

import click

from memory_vault.cli.guard import NOTHING_CHANGED, run_guarded
from memory_vault.logfile import WARNING, RunLog
from memory_vault.settings.load import Config
from memory_vault.terminal import echo_level

TYPE_CHECKING = False
if TYPE_CHECKING:
    from memory_vault.results import Result

Work = Callable[[Config, RunLog], "Result"]


class Globals:
    """The options every command accepts, before or after its name."""

    def __init__(self) -> None:
        self.env_file: str | None = None
        self.verbose = False
        self.quiet = False
        self.as_json = False


class Job:
    """An action with what its command needs around it (when the defaults do not do)."""

    def __init__(self, action: Work, *, summary: bool = False, person: bool = True,
                 options: dict[str, str] | None = None, search_env_file: bool = True) -> None:
        self.action = action
        self.summary = summary
        self.person = person
        self.options = options
        self.search_env_file = search_env_file


def globals_of(ctx: click.Context) -> Globals:
    root = ctx.find_root()
    if not isinstance(root.obj, Globals):
        root.obj = Globals()
    return root.obj


def _setter(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value:
            setattr(globals_of(ctx), name, value)

    return callback


def global_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--env-file, -v and -q, accepted on the group, its subgroups and every command."""
    func = click.option("--env-file", type=click.Path(dir_okay=False), expose_value=False,
                        callback=_setter("env_file"),
                        help="Read settings from this env file.")(func)
    func = click.option("-v", "--verbose", is_flag=True, expose_value=False,
                        callback=_setter("verbose"), help="Say more.")(func)
    func = click.option("-q", "--quiet", is_flag=True, expose_value=False,
                        callback=_setter("quiet"), help="Print errors only.")(func)
    return func


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, expose_value=False,
                        callback=_setter("as_json"), help="Print JSON.")(func)


def runs(*, need_source: bool = False,
         interrupted: str = NOTHING_CHANGED) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The body every command shares: run the action the command returns, under the guard,
    render its result, exit with its code. `interrupted`: what is safe after a Ctrl-C that
    the action did not describe itself (a command that writes says to run it again)."""
    def wrap(func: Callable[..., "Work | Job"]) -> Callable[..., Any]:
        @functools.wraps(func)
        @click.pass_context
        def command(ctx: click.Context, /, **kwargs: Any) -> None:
            job = func(**kwargs)
            job = job if isinstance(job, Job) else Job(job)
            opts = globals_of(ctx)
            echo = echo_level(quiet=opts.quiet, verbose=opts.verbose, summary=job.summary,
                              person=job.person)
            if opts.as_json:  # stdout holds the one document: a person's lines stay off it
                echo = max(echo, WARNING)
            from memory_vault.cli import render

            show: Callable[[Any], None] = functools.partial(render.show, as_json=opts.as_json)
            if opts.quiet and not opts.as_json:
                show = _nothing
            ctx.exit(run_guarded(job.action, env_file=opts.env_file, echo=echo,
                                 options=job.options, need_source=need_source,
                                 search_env_file=job.search_env_file, render=show,
                                 render_error=render.show_error if opts.as_json else None,
                                 interrupted=interrupted))

        return global_options(command)

    return wrap


class Count(click.ParamType):  # type: ignore[type-arg]
    """A whole number, 1 or more, with an error a person understands."""

    name = "N"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> int:
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = 0
        if number < 1:
            self.fail(f"{value!r} is not a whole number of commits (1 or more)", param, ctx)
        return number


def _nothing(_result: object) -> None:
    return None
