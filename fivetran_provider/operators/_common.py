"""Pieces shared by the operators that change connections: checks, secret handling, the change step."""

from __future__ import annotations

import inspect
import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from fivetran_provider import changes, fields, outcome
from fivetran_provider._compat import BaseOperator
from fivetran_provider.exceptions import FivetranAPIError, FivetranValidationError, short_error

if TYPE_CHECKING:
    from fivetran_provider.hooks import FivetranHook

T = TypeVar("T")

JINJA_MARKERS: tuple[str, ...] = ("{{", "{%")
"""Text that marks a value as a Jinja template, rendered only when the task runs."""

DEFAULT_MAX_PARALLEL = 16
"""Connections changed at the same time by one task, unless the task says otherwise."""


def is_templated(value: Any) -> bool:
    """Tell whether a value is only known when the task runs (a Jinja template or an XCom reference).

    Such values are checked after rendering; all others are checked when the DAG is parsed.

    :param value: an operator argument.
    """
    if value is None or isinstance(value, (bool, int, float, timedelta, datetime)):
        return False
    if isinstance(value, str):
        return any(marker in value for marker in JINJA_MARKERS)
    if isinstance(value, Mapping):
        return any(is_templated(key) or is_templated(item) for key, item in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(is_templated(item) for item in value)
    return True  # XComArg, param references and other objects resolved at run time


def optional_id(name: str) -> Callable[[Any], Any]:
    """A check for an optional id argument: ``None`` stays ``None``, anything else must be an id.

    :param name: the argument name for the error message.
    """

    def check(value: Any) -> Any:
        return None if value is None else fields.validate_connection_id(value, name)

    return check


def boolean(name: str) -> Callable[[Any], bool]:
    """A check for a boolean argument given as a bool or its text (``"true"``, ``"False"``).

    :param name: the argument name for the error message.
    """
    return lambda value: fields.coerce_bool(name, value)


class CheckedArgumentsMixin:
    """Check every user-facing argument twice: when the DAG is parsed and, rendered, before the first request.

    ``argument_checks`` maps an attribute to a function that returns its checked value (coerced:
    ``"true"`` becomes ``True``, a timedelta becomes seconds) or raises
    :class:`~fivetran_provider.exceptions.FivetranValidationError`. ``__init__`` calls
    :meth:`check_arguments` with ``rendered=False``, which checks the literal values and leaves
    templates for later; ``execute`` calls it with ``rendered=True`` first thing, after Airflow
    has rendered the templates and before anything is sent. Each checked value is stored back.
    """

    argument_checks: ClassVar[Mapping[str, Callable[[Any], Any]]] = {}

    def check_arguments(self, *, rendered: bool) -> None:
        """Check (and coerce in place) every argument of :attr:`argument_checks`.

        :param rendered: the templates have been rendered: check every value, templated or not.
        """
        for name, check in self.argument_checks.items():
            value = getattr(self, name, None)
            if not rendered and is_templated(value):
                continue
            setattr(self, name, check(value))


def _assume_needs_met() -> dict[str, Any]:
    """A stand-in connection on which every "only together with" rule of the catalogue holds.

    Checking literal arguments against it at DAG-parse time catches every mistake that does not
    depend on the real connection (e.g. ``daily_sync_time`` with ``sync_frequency=60`` in the same
    task), while rules that do depend on it are checked again after the connection is read.
    """
    connection: dict[str, Any] = {}
    for spec in fields.FIELD_SPECS:
        if spec.needs is None:
            continue
        other, required = spec.needs
        path = fields.FIELDS[other].read_path
        if not path:
            continue
        node = connection
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = required
    return connection


ASSUME_NEEDS_MET: dict[str, Any] = _assume_needs_met()


def check_literal_fields(given: Mapping[str, Any]) -> None:
    """Validate the PATCH fields of an operator at construction, as far as they are known then.

    When every value is literal, the whole body is validated (types, allowed values and the
    cross-field rules that do not depend on the connection). When some are templates, each
    literal value is still checked on its own; the rest waits for rendering.

    :param given: field name to value, as passed to the operator.
    :raises FivetranValidationError: naming the field, the value and what is allowed.
    """
    present = {name: value for name, value in given.items() if value is not None}
    literal = {name: value for name, value in present.items() if not is_templated(value)}
    if len(literal) == len(present):
        fields.validate_update(literal, current=ASSUME_NEEDS_MET)
        return
    for name, value in literal.items():
        fields.coerce_field(name, value)


def coerce_id_list(name: str, value: Any) -> list[str]:
    """Turn a list of connection ids (or its rendered text) into a list of checked, distinct ids.

    :param name: the argument name for errors.
    :param value: a list/tuple of ids, or its JSON/Python-literal text, or comma-separated text.
    """
    allowed = "a non-empty list of connection ids (a list, or its JSON text)"
    items: Any = value
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            items = fields.parse_json_text(name, text, allowed)
            if items is None:
                raise FivetranValidationError(name, value, allowed)
        else:
            items = [part.strip() for part in text.split(",") if part.strip()]
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise FivetranValidationError(name, value, allowed)
    result: list[str] = []
    if isinstance(items, Mapping):
        raise FivetranValidationError(name, value, allowed)
    for item in items:
        checked = fields.validate_connection_id(item, name)
        if checked not in result:
            result.append(checked)
    if not result:
        raise FivetranValidationError(name, value, allowed)
    return result


def check_max_parallel(value: Any) -> int:
    """Check ``max_parallel``: a whole number from 1 to 64 (the hook's connection pool size).

    :param value: the argument as given.
    """
    number = fields.coerce_int("max_parallel", value)
    if not 1 <= number <= 64:
        raise FivetranValidationError("max_parallel", value, "an integer from 1 to 64")
    return number


@cache
def _base_operator_arguments() -> frozenset[str]:
    return frozenset(inspect.signature(BaseOperator.__init__).parameters) - {"self", "kwargs"}


def reject_unknown_arguments(operator: type, kwargs: Mapping[str, Any]) -> None:
    """Fail on an argument that is neither an argument of the operator nor of ``BaseOperator``.

    Done before ``BaseOperator`` sees it, whose own error prints the value (a misspelt ``auth``
    would put credentials in the log); this error names the argument only and suggests the
    closest valid one.

    :param operator: the operator class.
    :param kwargs: the keyword arguments left after the operator took its own.
    """
    known = set(_base_operator_arguments())
    for name in kwargs:
        if name in known:
            continue
        own = [p for p in inspect.signature(operator).parameters if p != "kwargs"]
        import difflib  # only for the error message

        close = difflib.get_close_matches(name, [*own, *sorted(known)], n=1, cutoff=0.6)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise TypeError(f"{operator.__name__} got an unknown argument {name!r}.{hint}")


def quote_ids(ids: Sequence[str]) -> str:
    """Connection ids for a message: comma-separated, or ``none``.

    :param ids: the connection ids.
    """
    return ", ".join(ids) if ids else "none"


def short_errors(failures: Mapping[str, BaseException]) -> dict[str, str]:
    """Each failed connection's error on one line, as :class:`FivetranPartialFailureError` keeps them.

    :param failures: connection id to what its step raised.
    """
    return {connection_id: short_error(error) for connection_id, error in failures.items()}


def describe_failures(failures: Mapping[str, BaseException]) -> str:
    """``id: error; id: error`` for a message, in the order of ``failures``.

    :param failures: connection id to what its step raised.
    """
    return "; ".join(f"{connection_id}: {reason}" for connection_id, reason in short_errors(failures).items())


def refused(error: BaseException) -> bool:
    """Whether Fivetran answered a request with a refusal (4xx), so it certainly was not applied.

    Every other failure (5xx, no answer, malformed or redirected answer, a read-back that
    failed) may have been applied, and the connection has to be read to know.

    :param error: what the request raised.
    """
    return isinstance(error, FivetranAPIError) and not outcome.outcome_unknown(error)


def list_group(hook: FivetranHook, group_id: Any, log: Any) -> dict[str, dict[str, Any]]:
    """Every connection of a group (destination) as listed, by id, with one list call; logs the ids.

    :param hook: the hook.
    :param group_id: the group id (checked here).
    :param log: the task's logger.
    """
    group = fields.validate_connection_id(group_id, "group_id")
    listed = hook.list_connections(group_id=group)
    known = {item["id"]: item for item in listed if isinstance(item.get("id"), str)}
    log.info("Group %s has %d connection(s): %s", group, len(known), quote_ids(list(known)))
    return known


class _NotStarted(Exception):
    """A connection skipped because an earlier one failed and the run stops on the first error."""


def run_each(
    connection_ids: Sequence[str],
    work: Callable[[str], T],
    *,
    max_parallel: int,
    stop_on_error: bool,
) -> tuple[dict[str, T], dict[str, BaseException], list[str]]:
    """Run ``work`` for every connection, at most ``max_parallel`` at a time.

    :param connection_ids: the connections, in order.
    :param work: the per-connection step (it must only share thread-safe objects, such as one hook).
    :param max_parallel: the number of worker threads.
    :param stop_on_error: after the first failure, start no further connections.
    :return: ``(results, failures, not_started)``, each keyed or ordered by connection id.
    """
    results: dict[str, T] = {}
    failures: dict[str, BaseException] = {}
    if not connection_ids:
        return results, failures, []
    stop = threading.Event()

    def guarded(connection_id: str) -> T:
        if stop.is_set():
            raise _NotStarted(connection_id)
        try:
            return work(connection_id)
        except BaseException:
            if stop_on_error:
                stop.set()
            raise

    workers = max(1, min(max_parallel, len(connection_ids)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fivetran-connection") as pool:
        futures = {pool.submit(guarded, connection_id): connection_id for connection_id in connection_ids}
        for future in as_completed(futures):
            error = future.exception()
            if error is None:
                results[futures[future]] = future.result()
            elif not isinstance(error, _NotStarted):
                failures[futures[future]] = error
    not_started = [cid for cid in connection_ids if cid not in results and cid not in failures]
    return results, failures, not_started


def apply_change(
    hook: FivetranHook,
    connection_id: str,
    requested: Mapping[str, Any],
    *,
    log: Any,
    current: Mapping[str, Any] | None = None,
    dry_run: bool = False,
    before_send: Callable[[str, Mapping[str, Any]], None] | None = None,
) -> dict[str, Any] | None:
    """Bring one connection to the requested values, sending only what differs.

    Reads the connection (unless ``current`` is given), validates the request against it, and
    sends a PATCH with the differing fields only. Nothing is sent when nothing differs or in a
    dry run. At most one GET and one PATCH.

    :param hook: the hook (shared by all threads of a task).
    :param connection_id: the Fivetran connection id.
    :param requested: PATCH fields and their wanted values (raw or coerced).
    :param log: where to say what happened (values masked).
    :param current: the connection as just read, to save the GET.
    :param dry_run: plan only.
    :param before_send: called with the connection id and its state just before the PATCH is sent
        (so a caller knows which connections it may have changed, even if the PATCH then fails).
    :return: the change-record entry, or ``None`` when the connection already had the values.
    """
    if current is None:
        current = hook.get_connection_details(connection_id)
    body = fields.validate_update(requested, current=current)
    diff = fields.diff_update(current, body)
    if not diff:
        log.info("Connection %s: nothing to change (%s); no PATCH sent.", connection_id, _describe_request(body))
        return None
    if dry_run:
        entry = changes.build_entry(connection_id, diff, patched=False, current=current)
        log.info("Dry run, no PATCH sent. Connection %s would change: %s", connection_id, changes.describe(entry))
        return entry
    if before_send is not None:
        before_send(connection_id, current)
    after_state = hook.update_connection(connection_id, current_state=current, **fields.body_for_changes(diff, body))
    entry = changes.build_entry(connection_id, diff, patched=True, current=current, after_state=after_state)
    log.info("Connection %s changed: %s", connection_id, changes.describe(entry))
    return entry


def _describe_request(body: Mapping[str, Any]) -> str:
    """``name=value`` for each requested field; credential-bearing fields by name only."""
    parts = []
    for name, value in body.items():
        spec = fields.FIELDS[name]
        if not spec.persistent:
            continue
        parts.append(f"{name} given" if spec.sensitive else f"{name}={json.dumps(value, default=str)}")
    return "requested " + ", ".join(parts)


def pull_record(context: Any, task_id: str) -> Any:
    """The change record a task left in this run: its return value, or the record stored under the record key.

    :param context: the task context.
    :param task_id: the task whose record to read.
    """
    ti = context["ti"]
    value = ti.xcom_pull(task_ids=task_id)
    # A task whose return value is something else (the compatibility operators return a time)
    # keeps its record under the record key only.
    if value is None or (isinstance(value, str) and not value.lstrip().startswith(("{", "["))):
        value = ti.xcom_pull(task_ids=task_id, key=changes.RECORD_XCOM_KEY)
    return value
