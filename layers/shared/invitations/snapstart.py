"""Lambda SnapStart runtime hooks (template.yaml: EnableSnapStart). Nothing happens at import.

A handler module calls `register()` once, at import (Lambda runs only the hooks registered by the
handler's imports). Then, with SnapStart on:

- `before_snapshot` runs once, when Lambda publishes a version: it primes the function (every
  module of this package imported, the settings read, the AWS clients built with botocore's models
  loaded) so that a restored environment answers its first request warm. It never fetches the
  link secret, and drops it if something did: the secret is not to live in a snapshot.
- `after_restore` runs in every environment resumed from that snapshot, which many environments
  share: it reseeds `random` (each environment draws its own numbers), forgets the cached settings,
  clients and secret (credentials and connections of the snapshot are stale) and builds fresh
  clients; the secret is read again from Secrets Manager on first use.

Without SnapStart (or outside Lambda, where `snapshot_restore_py` is absent) `register()` does
nothing that runs. The Python managed runtime ships `snapshot_restore_py`: the layer needs none.
"""

import importlib
import importlib.util
import random
from collections.abc import Callable
from types import ModuleType

import invitations
from invitations import runtime
from invitations.settings import get_settings

# The AWS services the functions call (boto3 names); `register(*services)` may name fewer.
SERVICES = ("dynamodb", "secretsmanager", "ses", "sns", "events")
# Imported on first use by the package (validators): imported before the snapshot too.
LAZY_IMPORTS = ("email_validator", "phonenumbers", "aws_lambda_powertools.utilities.idempotency")

_registered: tuple[str, ...] | None = None


def register(*services: str) -> bool:
    """Register the two hooks with snapshot_restore_py, once. Returns False where that library
    is absent (tests, `make dev`): nothing is registered, nothing will run."""
    global _registered
    if _registered is not None:
        return True
    try:
        hooks = importlib.import_module("snapshot_restore_py")
    except ModuleNotFoundError:
        return False
    chosen = tuple(services) or SERVICES
    hooks.register_before_snapshot(before_snapshot, chosen)
    hooks.register_after_restore(after_restore, chosen)
    _registered = chosen
    return True


def before_snapshot(services: tuple[str, ...] = SERVICES) -> None:
    prime_imports()
    get_settings()
    for service in services:
        runtime.client(service)
    runtime.link_secret.cache_clear()  # never in a snapshot, even if the handler's init read it


def after_restore(services: tuple[str, ...] = SERVICES) -> None:
    random.seed()  # from os.urandom: every restored environment gets its own sequence
    runtime.reset()  # settings, session, clients, secret, wiring: all were the snapshot's
    get_settings()
    for service in services:
        runtime.client(service)


def prime_imports(
    package: ModuleType = invitations,
    lazy: tuple[str, ...] = LAZY_IMPORTS,
    importer: Callable[[str], ModuleType] = importlib.import_module,
) -> list[str]:
    """Import every module of the package (pydantic builds its validators at import) and the
    libraries it imports on first use. Returns the names imported."""
    import pkgutil  # only before a snapshot: not on every cold start

    names = [info.name for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}.")]
    names += [name for name in lazy if importlib.util.find_spec(name) is not None]
    for name in names:
        importer(name)
    return names
