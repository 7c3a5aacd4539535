"""Workspace discovery and csat.toml.

A workspace is a folder holding csat.toml; commands find it like git finds a
repository (the current folder, then its parents), unless --home or CSAT_HOME
names it. csat.toml is edited with tomlkit so a user's comments survive
`csat config set`. The signing secret lives in a separate 0600 file so the
config can be shared or committed without it.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from csat.errors import ConfigError, CsatError, WorkspaceNotFound
from csat.files import ensure_writable, write_text
from csat.i18n import _

CONFIG_FILE = "csat.toml"
SECRET_FILE = ".csat-secret"
HOME_ENV = "CSAT_HOME"
DATABASE_URL_ENV = "CSAT_DATABASE_URL"
SECRET_ENV = "CSAT_SECRET"


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


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_("{path}: malformed TOML: {error}", path=path, error=exc)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(_("{path}: not UTF-8 text ({error})", path=path, error=exc.reason)) from None
    except OSError as exc:
        raise ConfigError(_("{path}: cannot read: {error}", path=path, error=exc.strerror)) from None


def parse_settings(data: dict[str, Any], source: str = CONFIG_FILE):
    """Validate a csat.toml mapping into Settings; the first problem becomes a one-line error."""
    from pydantic import ValidationError

    from csat.settings import Settings

    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{source}: {where}: {first['msg']}") from None


@dataclass
class Workspace:
    """An opened workspace: its folder and validated settings."""

    root: Path
    settings: Any = field(repr=False)

    @classmethod
    def open(cls, home: str | os.PathLike | None = None) -> "Workspace":
        root = find_workspace(home)
        config_path = root / CONFIG_FILE
        return cls(root=root, settings=parse_settings(_read_toml(config_path), str(config_path)))

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
        return url

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    def secret(self) -> bytes:
        """The form-signing key: CSAT_SECRET, else the workspace's 0600 secret file."""
        from_env = os.environ.get(SECRET_ENV)
        if from_env:
            return from_env.encode()
        path = self.root / SECRET_FILE
        try:
            return path.read_text(encoding="ascii").strip().encode()
        except OSError:
            raise ConfigError(_("signing secret missing: {path} (set {variable} or restore the file)",
                                path=path, variable=SECRET_ENV)) from None


def config_template(company: str, lang: str) -> str:
    """The commented csat.toml written by `csat init`."""
    import tomlkit

    from csat.settings import DEFAULT_DEPARTMENTS

    departments = "\n".join(
        f"{code} = {{ en = {tomlkit.string(dept.en).as_string()}, zh = {tomlkit.string(dept.zh).as_string()} }}"
        for code, dept in DEFAULT_DEPARTMENTS.items()
    )
    return f"""\
# csat workspace configuration. Edit by hand or with `csat config set KEY VALUE`.

[company]
name = {tomlkit.string(company).as_string()}
lang = "{lang}"          # default language of forms and reports: en or zh
contact = ""           # who customers contact about the survey (shown on forms)

[store]
# SQLite file in this folder, or a PostgreSQL URL shared by several users:
# url = "postgresql+psycopg://csat@dbserver/csat"   (CSAT_DATABASE_URL overrides)
url = "sqlite:///csat.db"

[mail]
smtp_host = ""         # empty: messages are written to outbox/ as .eml files
smtp_port = 587
security = "starttls"  # starttls, ssl or none
username = ""
password_env = "CSAT_SMTP_PASSWORD"   # the environment variable holding the password
sender = "quality@example.com"
sender_name = ""
timeout = 30

[survey]
due_days = 30          # days customers have to answer
action_limit = 85      # items scoring below this need corrective action
margin = 3             # points above the limit that count as "at risk" when falling
top_box = 90           # scores at or above this count as top box
response_target = 0.6  # response rate expected by the due date

[report]
min_n = 5              # items with fewer answers are marked "small sample" (mean and interval say little)

[import]
max_file_mb = 50

[feedback]
reply_days = 2         # working days to reply to a complaint
unresolved_days = 30   # open longer than this is "long unresolved"
special_attention = 3  # complaints in a quarter that flag a customer
holidays = []          # public holidays skipped when counting reply days, e.g. ["2024-10-01"]

[capa]
due_days = 30          # default time to complete a CAPA
default_dept = "quality"
# Owner department of a CAPA by survey item or feedback kind (codes from [departments]):
# item_departments = {{ delivery = "materials", price = "sales" }}
# kind_departments = {{ service = "engineering" }}

[remind]
remind_after = 10      # days after sending before the first reminder
remind_every = 7       # days between reminders
max_reminders = 2
staff = []             # addresses that receive the daily digest of what is due

# Departments that own CAPAs and feedback: rename freely, keep the codes.
[departments]
{departments}
"""


def init_workspace(folder: Path, company: str = "Our Company", lang: str = "en") -> Path:
    """Create csat.toml and the secret in folder; refuse to overwrite an existing workspace."""
    folder = folder.expanduser().resolve()
    config_path = folder / CONFIG_FILE
    if config_path.exists():
        raise CsatError(_("{path} already exists; this folder is already a csat workspace", path=config_path))
    ensure_writable(folder)
    parse_settings(tomllib.loads(config_template(company, lang)))
    secret_path = folder / SECRET_FILE
    if not secret_path.exists():
        descriptor = os.open(secret_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(32) + "\n")
    write_text(config_path, config_template(company, lang))
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
    data = workspace.settings.model_dump(by_alias=True)[section]
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


def config_set(workspace: Workspace, key: str, text: str | None = None,
               add: list[str] | tuple[str, ...] = (), remove: list[str] | tuple[str, ...] = ()) -> Any:
    """Validate and write one dotted key into csat.toml, keeping comments and layout.

    A list key takes a TOML list or entries separated by commas; `add` and `remove` change
    single entries of it and keep the others.
    """
    import tomlkit

    if key in _SECRET_KEYS:
        raise ConfigError(_("{key} cannot be stored; put the password in the environment variable named by mail.password_env",
                            key=key))
    section, name = _split_key(key, workspace.settings)
    if (text is None) == (not add and not remove):
        raise ConfigError(_("{key}: give either a value or --add/--remove", key=key))
    document = tomlkit.parse(workspace.config_path.read_text(encoding="utf-8"))
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
    node = document.setdefault(section, tomlkit.table())
    for part in parts[:-1]:
        node = node.setdefault(part, tomlkit.inline_table())
    node[parts[-1]] = value
    write_text(workspace.config_path, tomlkit.dumps(document))
    workspace.settings = validated
    return config_get(workspace, key)
