"""Workspace discovery and csat.toml.

A workspace is a folder holding csat.toml; commands find it like git finds a
repository (the current folder, then its parents), unless --home or CSAT_HOME
names it. csat.toml is edited with tomlkit so a user's comments survive
`csat config set`.

Several machines may share one store, each with its own workspace folder. Company settings
(every key but LOCAL_KEYS) and the form-signing secret live in the store, so every machine
behaves the same: the store layer overlays them on what csat.toml says (Workspace.apply_shared)
when it opens the store. csat.toml keeps the store's address and what is truly per machine.
A workspace from before the store held them has its secret in a 0600 `.csat-secret` file; forms
signed with it still verify in that folder.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from csat.errors import ConfigError, CsatError, WorkspaceNotFound
from csat.files import ensure_writable, write_text
from csat.i18n import N_, _

CONFIG_FILE = "csat.toml"
SECRET_FILE = ".csat-secret"
HOME_ENV = "CSAT_HOME"
DATABASE_URL_ENV = "CSAT_DATABASE_URL"
SECRET_ENV = "CSAT_SECRET"

# Keys that stay in each machine's csat.toml (a section name covers all its keys): where the
# store is, this machine's import limits, where its SMTP password and CA file are, how long it
# waits for the network. Every other key is a company setting shared through the store.
LOCAL_KEYS = ("store", "import", "mail.password_env", "mail.ca_file", "mail.timeout")


def is_local(key: str) -> bool:
    """True for a per-machine key of csat.toml (LOCAL_KEYS), False for a shared company setting."""
    return any(key == local or key.startswith(local + ".") for local in LOCAL_KEYS)


def find_workspace(home: str | os.PathLike | None = None, start: Path | None = None) -> Path:
    """Return the workspace root: --home, else CSAT_HOME, else the nearest folder upward with csat.toml."""
    named = home or os.environ.get(HOME_ENV)
    if named:
        root = Path(named).expanduser().resolve()
        if not (root / CONFIG_FILE).is_file():
            raise WorkspaceNotFound(_("no csat workspace at {folder} (no {file}); create one with `csat init {folder}`",
                                      folder=root, file=CONFIG_FILE))
        return root
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise WorkspaceNotFound(
        _("not inside a csat workspace (no {file} in {folder} or above); run `csat init` or pass --home DIR",
          file=CONFIG_FILE, folder=here)
    )


def home_argument(args) -> str | None:
    """The value of --home among a command line's arguments, None when it has none."""
    for index, word in enumerate(args):
        if word == "--home" and index + 1 < len(args):
            return args[index + 1]
        if word.startswith("--home="):
            return word.partition("=")[2]
    return None


def workspace_language(args) -> str | None:
    """company.lang of the workspace a command line will use, or None when there is none to read.

    Read before the command runs (the command line speaks it from its first word, and the
    import's reader starts before the command line is built: csat.importer.early_start).
    """
    from csat.i18n import normalise

    try:
        root = find_workspace(home_argument(args))
        data = tomllib.loads((Path(root) / CONFIG_FILE).read_text(encoding="utf-8"))
    except Exception:  # noqa: BLE001 - no readable workspace yet: the command itself will say why
        return None
    company = data.get("company")
    return normalise(company.get("lang")) if isinstance(company, dict) else None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(toml_problem(path, exc)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(_("{path}: not UTF-8 text ({error})", path=path, error=exc.reason)) from None
    except OSError as exc:
        raise ConfigError(_("{path}: cannot read: {error}", path=path, error=exc.strerror)) from None


# tomllib's own (English) reasons, in the catalog's words; the place is always given.
_TOML_REASONS = {
    "Expected '=' after a key in a key/value pair": N_("expected = after the key"),
    "Unclosed array": N_("a list [ ... ] is not closed"),
    "Unclosed inline table": N_("an inline table { ... } is not closed"),
    "Unterminated string": N_("a quoted text is not closed"),
    "Invalid value": N_("not a value (text needs quotes)"),
    "Invalid statement": N_("not a `key = value` line or a [section]"),
    "Invalid date or datetime": N_("not a valid date"),
    "Expected ']' at the end of a table declaration": N_("a [section] is not closed with ]"),
    "Expected ']]' at the end of an array declaration": N_("a [[table]] is not closed with ]]"),
    "Cannot overwrite a value": N_("a key is given twice"),
    "Invalid initial character for a key part": N_("a key starts with a character keys cannot have"),
}
_TOML_PLACE = re.compile(r"^(?P<reason>.*?) \(at (?:line (?P<line>\d+), column (?P<column>\d+)|end of document)\)$", re.S)


def toml_problem(path: Any, exc: Exception) -> str:
    """A TOML syntax error as one line in the current language: the file, the line and column, and why."""
    found = _TOML_PLACE.match(str(exc))
    reason = found["reason"] if found else str(exc)
    if reason.startswith("Cannot declare ") or reason.startswith("Cannot redefine namespace"):
        reason = "Cannot overwrite a value"
    problem = _(_TOML_REASONS[reason]) if reason in _TOML_REASONS else _("not valid TOML")
    if found and found["line"]:
        return _("{path}: malformed TOML at line {line}, column {column}: {problem}", path=path,
                 line=int(found["line"]), column=int(found["column"]), problem=problem)
    return _("{path}: malformed TOML at the end: {problem}", path=path, problem=problem)


def parse_settings(data: dict[str, Any], source: str = CONFIG_FILE):
    """Validate a csat.toml mapping into Settings; the first problem becomes a one-line error."""
    from pydantic import ValidationError

    from csat.settings import Settings

    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        place = where if source == where else f"{source}: {where}"   # `config set KEY` names the key once
        raise ConfigError(f"{place}: {validation_problem(first)}") from None


def _shown_value(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


# What each pydantic error type means for a csat.toml value or an option, in the catalog's words.
# pydantic speaks English only: its own `msg` is never shown to a person.
_SIMPLE_PROBLEMS = {
    ("int_parsing", "int_type", "int_from_float", "int_parsing_size"): N_("expected a whole number"),
    ("float_parsing", "float_type", "decimal_parsing", "decimal_type", "number_type"): N_("expected a number"),
    ("finite_number",): N_("expected a finite number"),
    ("bool_parsing", "bool_type"): N_("expected true or false"),
    ("string_type", "string_sub_type", "string_unicode", "bytes_type"): N_("expected text"),
    ("list_type", "tuple_type", "set_type", "frozen_set_type", "iterable_type"): N_("expected a list"),
    ("dict_type", "model_type", "model_attributes_type", "dataclass_type"): N_("expected a section of settings"),
    ("date_parsing", "date_type", "date_from_datetime_parsing", "date_from_datetime_inexact", "date_past",
     "date_future"): N_("expected a date (YYYY-MM-DD)"),
    ("datetime_parsing", "datetime_type", "datetime_from_date_parsing", "datetime_object_invalid",
     "datetime_past", "datetime_future", "timezone_naive", "timezone_aware"): N_("expected a date and time (YYYY-MM-DD HH:MM)"),
    ("time_parsing", "time_type"): N_("expected a time (HH:MM)"),
    ("time_delta_parsing", "time_delta_type"): N_("expected a duration"),
    ("path_type", "path_not_file", "path_not_directory"): N_("expected a path"),
    ("url_parsing", "url_type", "url_scheme", "url_syntax_violation", "url_too_long"): N_("expected a URL"),
    ("uuid_parsing", "uuid_type", "uuid_version"): N_("expected a UUID"),
    ("missing", "missing_argument", "missing_keyword_only_argument", "missing_positional_only_argument"):
        N_("a value is required"),
    ("extra_forbidden", "unexpected_keyword_argument", "unexpected_positional_argument"): N_("not a setting csat knows"),
    ("none_required",): N_("expected no value"),
    ("frozen_field", "frozen_instance"): N_("cannot be changed"),
    ("string_pattern_mismatch",): N_("not in the expected form"),
    ("recursion_loop",): N_("refers to itself"),
}
_PROBLEMS = {kind: message for kinds, message in _SIMPLE_PROBLEMS.items() for kind in kinds}
_BOUNDS = {"greater_than": ("gt", N_("must be greater than {limit}")),
           "greater_than_equal": ("ge", N_("must be at least {limit}")),
           "less_than": ("lt", N_("must be less than {limit}")),
           "less_than_equal": ("le", N_("must be at most {limit}")),
           "multiple_of": ("multiple_of", N_("must be a multiple of {limit}"))}
_LENGTHS = {"string_too_short": ("min_length", N_("must be at least {limit} characters long")),
            "string_too_long": ("max_length", N_("must be at most {limit} characters long")),
            "too_short": ("min_length", N_("must have at least {limit} entries")),
            "too_long": ("max_length", N_("must have at most {limit} entries"))}


def validation_problem(error: dict) -> str:
    """A pydantic validation error (one entry of `exc.errors()`) in the current language.

    Every error type pydantic can raise for csat's settings and options has a catalog
    message; any other says which value was refused and where, never pydantic's English.
    """
    context = error.get("ctx") or {}
    kind = error.get("type", "")
    if kind in ("value_error", "assertion_error") and "error" in context:
        return str(context["error"])   # csat's own validators raise catalog messages
    if kind in _PROBLEMS:
        return _(_PROBLEMS[kind])
    if kind in ("literal_error", "enum"):
        # pydantic writes "'a', 'b' or 'c'": the choices are values, the "or" is English
        choices = re.sub(r"(?<=') or (?=')", ", ", str(context.get("expected", "")))
        return _("expected one of {choices}", choices=choices)
    if kind in _BOUNDS:
        key, message = _BOUNDS[kind]
        return _(message, limit=_number(context.get(key)))
    if kind in _LENGTHS:
        key, message = _LENGTHS[kind]
        return _(message, limit=context.get(key))
    where = ".".join(str(part) for part in error.get("loc", ()))
    if where:
        return _("{key} cannot be {value}", key=where, value=_shown_value(error.get("input")))
    return _("the value {value} is not accepted", value=_shown_value(error.get("input")))


def _put(data: dict[str, Any], key: str, value: Any) -> None:
    """Set a dotted key in a nested mapping, making the sections on the way."""
    *sections, name = key.split(".")
    node = data
    for section in sections:
        inner = node.get(section)
        if not isinstance(inner, dict):
            inner = node[section] = {}
        node = inner
    node[name] = value


def _with_url_override(settings):
    """CSAT_DATABASE_URL is the store's address whatever csat.toml says: settings show it too."""
    override = os.environ.get(DATABASE_URL_ENV)
    if override and override != settings.store.url:
        settings.store.url = override
    return settings


@dataclass
class Workspace:
    """An opened workspace: its folder and validated settings.

    `settings` are csat.toml's until the store is opened; then the store's shared keys are laid
    over them (apply_shared), and `store_secret` holds the store's form-signing secret.
    """

    root: Path
    settings: Any = field(repr=False)
    file_data: dict[str, Any] = field(default_factory=dict, repr=False)   # csat.toml as read
    store_secret: bytes | None = field(default=None, repr=False)
    shared_revision: int | None = None      # settings revision of the store last laid over

    @classmethod
    def open(cls, home: str | os.PathLike | None = None) -> "Workspace":
        root = find_workspace(home)
        config_path = root / CONFIG_FILE
        data = _read_toml(config_path)
        return cls(root=root, settings=_with_url_override(parse_settings(data, str(config_path))), file_data=data)

    def apply_shared(self, values: dict[str, Any], revision: int, secret: str | None) -> None:
        """Lay the store's shared settings over csat.toml's (the store's win) and take its secret."""
        import copy

        self.store_secret = secret.encode() if secret else None
        if revision == self.shared_revision:
            return
        data = copy.deepcopy(self.file_data)
        for key, value in values.items():
            if not is_local(key):
                _put(data, key, value)
        self.settings = _with_url_override(parse_settings(data, _("the shared settings in the store")))
        self.shared_revision = revision

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def database_url(self) -> str:
        """CSAT_DATABASE_URL, else [store] url; relative SQLite paths are relative to the workspace."""
        url = os.environ.get(DATABASE_URL_ENV) or self.settings.store.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite://":
            relative = url[len(prefix):]
            if relative and relative != ":memory:":
                url = prefix + str((self.root / relative).resolve())
        return with_password_from_env(url, self.settings.store.password_env)

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    def upgrade_seed(self) -> dict[str, Any]:
        """What `csat db upgrade` hands the migration that moves settings into the store.

        This folder's company settings (csat.toml as it stands) and its signing secret, so forms
        it sent keep verifying. Used only when the store does not hold them yet.
        """
        secret = os.environ.get(SECRET_ENV) or None
        if secret is None:
            try:
                legacy = self.file_secret()
            except ConfigError:
                legacy = None
            secret = legacy.decode() if legacy else None
        return {"settings": shared_values(self.settings), "secret": secret}

    def secret(self) -> bytes:
        """The form-signing key: CSAT_SECRET, else the store's, else this folder's old 0600 secret file."""
        from_env = os.environ.get(SECRET_ENV)
        if from_env:
            return from_env.encode()
        if self.store_secret:
            return self.store_secret
        legacy = self.file_secret()
        if legacy is None:
            raise ConfigError(_("signing secret missing: the store holds none and there is no {path}"
                                " (run `csat db upgrade`, or set {variable})", path=self.root / SECRET_FILE,
                                variable=SECRET_ENV))
        return legacy

    def file_secret(self) -> bytes | None:
        """The secret of this folder's `.csat-secret` (workspaces from before the store held it), if any."""
        path = self.root / SECRET_FILE
        if not path.exists():
            return None
        try:
            return path.read_text(encoding="ascii").strip().encode() or None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(_("cannot read the signing secret {path}: {error}", path=path,
                                error=getattr(exc, "strerror", None) or exc)) from None

    def verifying_secrets(self) -> tuple[bytes, ...]:
        """Keys a returned form may be signed with: the current one, then this folder's old file secret.

        Forms sent from this folder before the secret moved into the store still import here.
        """
        keys = [self.secret()]
        try:
            legacy = self.file_secret()
        except ConfigError:
            legacy = None
        if legacy and legacy not in keys:
            keys.append(legacy)
        return tuple(keys)


def with_password_from_env(url: str, password_env: str) -> str:
    """A server URL without a password gets the one in the environment variable store.password_env names.

    A password written in the URL wins. With neither, the URL goes to the driver as it is, and
    libpq reads PGPASSWORD or ~/.pgpass (%APPDATA%\\postgresql\\pgpass.conf on Windows) itself.
    """
    if not password_env or url.startswith("sqlite"):
        return url
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return url  # the store refuses it with its own one-line message (password hidden)
    if parsed.password is not None or "password" in parsed.query:
        return url
    password = os.environ.get(password_env, "")
    if not password:
        raise ConfigError(_("store.password_env names {variable}, which is not set in the environment; set it, or"
                            " clear store.password_env to use PGPASSWORD or ~/.pgpass", variable=password_env))
    return parsed.set(password=password).render_as_string(hide_password=False)


_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&]*", re.IGNORECASE)


def url_password(url: str) -> str | None:
    """The password written in a database URL (user:PASSWORD@ or ?password=), or None.

    Read by hand, not by a URL parser: the URL may not even parse.
    """
    in_query = _QUERY_PASSWORD.search(url)
    if in_query and in_query.end() > in_query.end(1):
        return url[in_query.end(1):in_query.end()]
    scheme, separator, rest = url.partition("://")
    credentials, at, _host = rest.rpartition("@")
    if not separator or not at or ":" not in credentials:
        return None
    return credentials.split(":", 1)[1] or None


def hide_url_password(url: str) -> str:
    """The URL with its password shown as ***, for `config show` and `config get`."""
    url = _QUERY_PASSWORD.sub(lambda match: match.group(1) + "***" if len(match.group(0)) > len(match.group(1))
                              else match.group(0), url)
    scheme, separator, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not separator or not at or ":" not in credentials or not credentials.split(":", 1)[1]:
        return url
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"


def holds_secret(settings) -> bool:
    """Whether csat.toml with these settings holds a password (then it is written 0600)."""
    return bool(url_password(settings.store.url))


def redacted(settings) -> dict[str, Any]:
    """Every setting as `config show` prints it: passwords in URLs shown as ***."""
    data = settings.model_dump(by_alias=True)
    data["store"]["url"] = hide_url_password(data["store"]["url"])
    return data


def config_template(database_url: str = "sqlite:///csat.db") -> str:
    """The commented csat.toml written by `csat init`: the store's address and this machine's keys."""
    import tomlkit

    return f"""\
# csat workspace configuration: where the store is, and what is particular to this machine.
# Company settings (company, mail server and sender, survey, remind, feedback, capa, report,
# departments) and the form-signing secret live in the store, shared by every machine on it:
# see them with `csat config show`, change them with `csat config set KEY VALUE`.

[store]
# SQLite file in this folder, or a PostgreSQL URL shared by several users:
# url = "postgresql+psycopg://csat@dbserver/csat"   (CSAT_DATABASE_URL overrides)
url = {tomlkit.string(database_url).as_string()}
# The PostgreSQL password: leave it out of the URL and set password_env to the name of an
# environment variable holding it, or leave password_env empty to use PGPASSWORD or ~/.pgpass.
password_env = ""

[mail]
password_env = "CSAT_SMTP_PASSWORD"   # the environment variable holding this machine's SMTP password
timeout = 30           # seconds to wait for the mail server from this machine

[import]
max_file_mb = 50       # largest file this machine reads
"""


def initial_settings(company: str = "Our Company", lang: str = "en"):
    """The company settings a new store starts with: the defaults, with the company's name and language."""
    from csat.settings import Settings

    settings = Settings()
    settings.company.name = company
    settings.company.lang = lang
    return settings


def init_workspace(folder: Path, database_url: str | None = None) -> Path:
    """Create csat.toml in folder (recording the store URL given); refuse to overwrite a workspace."""
    folder = folder.expanduser().resolve()
    config_path = folder / CONFIG_FILE
    if config_path.exists():
        raise CsatError(_("{path} already exists; this folder is already a csat workspace", path=config_path))
    ensure_writable(folder)
    text = config_template(database_url or "sqlite:///csat.db")
    parse_settings(tomllib.loads(text))
    write_text(config_path, text, private=bool(url_password(database_url or "")))
    return folder


_SECRET_KEYS = {"mail.password"}


def known_keys(settings) -> list[str]:
    """Every dotted key a workspace has, defaults included (a list is one key; a mapping's entries are keys)."""
    keys: list[str] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for name, inner in value.items():
                walk(f"{prefix}.{name}" if prefix else str(name), inner)
        else:
            keys.append(prefix)

    walk("", settings.model_dump(by_alias=True))
    return [key for key in keys if key not in _SECRET_KEYS]


def _unknown(key: str, settings) -> ConfigError:
    """`unknown setting 'remind.staf'; did you mean remind.staff?`"""
    import difflib

    known = known_keys(settings)
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if not close:   # a right name in the wrong section: survey.staff -> remind.staff
        name = key.rpartition(".")[2]
        close = [candidate for candidate in known if candidate.rpartition(".")[2] == name][:1]
    hint = _("did you mean {key}?", key=close[0]) if close else _("see `csat config show` for every setting")
    return ConfigError(_("unknown setting {key!r}; {hint}", key=key, hint=hint))


def _split_key(key: str, settings) -> tuple[str, str]:
    from csat.settings import Settings

    parts = key.split(".")
    sections = {name if field_info.alias is None else field_info.alias: field_info
                for name, field_info in Settings.model_fields.items()}
    if len(parts) < 2 or parts[0] not in sections or not all(parts):
        raise _unknown(key, settings)
    return parts[0], ".".join(parts[1:])


def config_get(workspace: Workspace, key: str) -> Any:
    """The effective value of a dotted key (defaults included)."""
    if key in _SECRET_KEYS:
        raise ConfigError(_("{key} is a secret and is never stored or shown", key=key))
    section, name = _split_key(key, workspace.settings)
    data = redacted(workspace.settings)[section]
    value: Any = data
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            raise _unknown(key, workspace.settings)
        value = value[part]
    return value


def _coerce(text: str) -> Any:
    """Read a command-line value as TOML when it parses as one (numbers, booleans, lists), else as a string."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def _list_value(key: str, text: str) -> list[Any]:
    """A list key's value: a TOML list, or entries separated by commas (`a@b.example, c@d.example`)."""
    stripped = text.strip()
    if stripped.startswith("["):
        value = _coerce(stripped)
        if not isinstance(value, list):
            raise ConfigError(_("{key}: {value!r} is not a list; write entries separated by commas, e.g. a@b.example, c@d.example",
                                key=key, value=text))
        return value
    # Full-width commas and semicolons too: what a Chinese input method or Outlook's address line types.
    return [entry.strip() for entry in stripped.replace("，", ",").replace(";", ",").replace("；", ",").split(",")
            if entry.strip()]


def _edited_list(key: str, current: list[Any], add: list[str], remove: list[str]) -> list[Any]:
    entries = list(current)
    texts = [str(entry) for entry in entries]
    for text in remove:
        for entry in _list_value(key, text):
            if str(entry) not in texts:
                held = ", ".join(texts) or _("nothing")
                raise ConfigError(_("{key} does not hold {entry!r} (it holds {held}); nothing changed",
                                    key=key, entry=entry, held=held))
            index = texts.index(str(entry))
            del entries[index], texts[index]
    for text in add:
        for entry in _list_value(key, text):
            if str(entry) not in texts:
                entries.append(entry)
                texts.append(str(entry))
    return entries


def new_value(workspace: Workspace, key: str, text: str | None = None,
              add: list[str] | tuple[str, ...] = (), remove: list[str] | tuple[str, ...] = ()) -> tuple[Any, Any]:
    """Validate a change of one dotted key: returns (its new value, the settings with it).

    A list key takes a TOML list or entries separated by commas; `add` and `remove` change
    single entries of it and keep the others.
    """
    if key in _SECRET_KEYS:
        raise ConfigError(_("{key} cannot be stored; put the password in the environment variable named by mail.password_env",
                            key=key))
    section, name = _split_key(key, workspace.settings)
    if (text is None) == (not add and not remove):
        raise ConfigError(_("{key}: give either a value or --add/--remove", key=key))
    current = workspace.settings.model_dump(by_alias=True)
    parts = name.split(".")
    target = current[section]
    for part in parts[:-1]:
        if not isinstance(target, dict) or part not in target:
            raise _unknown(key, workspace.settings)
        target = target[part]
    if section != "departments" and (not isinstance(target, dict) or parts[-1] not in target):
        raise _unknown(key, workspace.settings)
    old = target.get(parts[-1]) if isinstance(target, dict) else None
    if isinstance(old, list):
        value = _list_value(key, text) if text is not None else _edited_list(key, old, list(add), list(remove))
    elif text is None:
        raise ConfigError(_("{key} is not a list; --add and --remove change list settings such as remind.staff", key=key))
    else:
        value = _coerce(text)
        if isinstance(old, str) and not isinstance(value, str):
            value = text
    target[parts[-1]] = value
    validated = parse_settings(current, key)
    # The validator's form of the value (dates of a holiday list as ISO text, a float for 85).
    stored: Any = validated.model_dump(by_alias=True)
    for part in key.split("."):
        stored = stored[part]
    return stored, validated


def file_holds(workspace: Workspace, key: str) -> bool:
    """Whether csat.toml itself writes this dotted key (not a default)."""
    node: Any = workspace.file_data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def write_file_key(workspace: Workspace, key: str, value: Any) -> None:
    """Write one dotted key into csat.toml, keeping its comments and layout."""
    import tomlkit

    document = tomlkit.parse(workspace.config_path.read_text(encoding="utf-8"))
    section, *parts = key.split(".")
    node = document.setdefault(section, tomlkit.table())
    for part in parts[:-1]:
        node = node.setdefault(part, tomlkit.inline_table())
    node[parts[-1]] = value
    # A password in store.url makes the file 0600; otherwise it keeps its mode (a chmod 600 stays).
    url = str(document.get("store", {}).get("url", ""))
    write_text(workspace.config_path, tomlkit.dumps(document), private=bool(url_password(url)))
    _put(workspace.file_data, key, value)


def set_in_file(workspace: Workspace, key: str, text: str | None = None,
                add: list[str] | tuple[str, ...] = (), remove: list[str] | tuple[str, ...] = ()) -> Any:
    """Validate and write one per-machine key (LOCAL_KEYS) into csat.toml.

    Shared company settings go to the store instead: csat.workspace.config_set decides which.
    """
    value, validated = new_value(workspace, key, text, add, remove)
    write_file_key(workspace, key, value)
    workspace.settings = _with_url_override(validated)
    return value      # as written (CSAT_DATABASE_URL may override store.url here)


def shared_values(settings) -> dict[str, Any]:
    """Every shared (not LOCAL_KEYS) dotted key of these settings with its value: what the store keeps."""
    dumped = settings.model_dump(by_alias=True)
    values: dict[str, Any] = {}
    for key in known_keys(settings):
        if is_local(key):
            continue
        value: Any = dumped
        for part in key.split("."):
            value = value[part]
        values[key] = value
    return values
