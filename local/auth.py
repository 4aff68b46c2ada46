"""The local stand-in for the clinicians' identity provider: one RSA key pair, generated once and
kept in the data folder, that signs tokens (`make token`) and that the local JWT authorizer
checks exactly as API Gateway's would (RS256 signature, `iss`, `aud`, `exp`)."""

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# The template's JwtIssuer and JwtAudience parameters, as the local stack resolves them.
ISSUER = "http://127.0.0.1/local-issuer"
AUDIENCE = "clinician-app"
KEY_ID = "local-1"
KEY_FILE = "jwt-signing-key.pem"
DEFAULT_LIFETIME_SECONDS = 12 * 3600


class InvalidToken(Exception):
    """Why a bearer token was refused (a description for the WWW-Authenticate header)."""


def signing_key(data_dir: Path) -> rsa.RSAPrivateKey:
    """The key pair, created on first use (mode 0600) and reused by every later run."""
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(pem)
        tmp.chmod(0o600)
        tmp.replace(path)  # atomic: a devserver and `make token` may both create it at once
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    return loaded


def mint(data_dir: Path, sub: str, name: str, lifetime_seconds: int = DEFAULT_LIFETIME_SECONDS, **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "name": name, "iat": now, "exp": now + lifetime_seconds}
    payload.update(claims)
    return jwt.encode(payload, signing_key(data_dir), algorithm="RS256", headers={"kid": KEY_ID})


@dataclass(frozen=True)
class Authorizer:
    """API Gateway's JWT authorizer: the token from `Authorization`, checked against the key."""

    public_key: rsa.RSAPublicKey
    issuer: str
    audiences: tuple[str, ...]

    @classmethod
    def load(cls, data_dir: Path, issuer: str = ISSUER, audiences: tuple[str, ...] = (AUDIENCE,)) -> "Authorizer":
        return cls(signing_key(data_dir).public_key(), issuer, audiences)

    def claims(self, authorization: str | None) -> dict[str, Any]:
        if not authorization:
            raise InvalidToken("missing token")
        token = authorization.removeprefix("Bearer ").strip()
        try:
            if jwt.get_unverified_header(token).get("kid") != KEY_ID:
                raise InvalidToken("unknown signing key")
            return jwt.decode(
                token,
                self.public_key,
                algorithms=["RS256"],
                audience=list(self.audiences),
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud"]},  # as API Gateway: `sub` is the function's concern
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the token has expired") from None
        except jwt.PyJWTError as error:
            raise InvalidToken(f"the token is not valid ({type(error).__name__})") from None


def as_event_claims(claims: dict[str, Any]) -> dict[str, str]:
    """API Gateway hands the claims to the function as strings (numbers too, lists as "[a b]")."""

    def text(value: Any) -> str:
        if isinstance(value, list):
            return "[" + " ".join(text(v) for v in value) + "]"
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return {name: text(value) for name, value in claims.items()}
