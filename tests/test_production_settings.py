"""Production settings from the environment, and the encrypted channel layer."""

import json
import os
import secrets
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis
from channels_redis.core import RedisChannelLayer

ROOT = Path(__file__).resolve().parents[1]
# Variables the tests set themselves; anything the developer's shell has is left out.
OWN = {"DEBUG", "HTTPS", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "INVIGILATION_VAR_DIR",
       "SECURE_SSL_REDIRECT", "SECURE_COOKIES", "SECURE_HSTS_SECONDS", "BEHIND_TLS_PROXY",
       "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
       "CHANNEL_LAYER_ENCRYPTION_KEYS"}  # fmt: skip
SHOW = """
import json
from invigilation import settings as s
print(json.dumps({name: getattr(s, name) for name in [
    "DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER", "SECURE_CONTENT_TYPE_NOSNIFF", "SESSION_COOKIE_HTTPONLY",
    "X_FRAME_OPTIONS", "SECURE_REFERRER_POLICY", "SECRET_KEY", "CHANNEL_LAYERS",
]}))
"""


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {name: value for name, value in os.environ.items() if name not in OWN}
    environment |= {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
                    "INVIGILATION_VAR_DIR": str(tmp_path), **env}  # fmt: skip
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def production(**extra: str) -> dict[str, str]:
    return {"DEBUG": "false", "HTTPS": "true", "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "invigilation.example.org", **extra}  # fmt: skip


def settings_with(tmp_path: Path, **env: str) -> dict:
    result = run(["-c", SHOW], tmp_path, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_deployment_checklist_passes_in_production_mode(tmp_path):
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], tmp_path,
                 **production())  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_mode_turns_on_the_hardening(tmp_path):
    values = settings_with(tmp_path, **production(BEHIND_TLS_PROXY="true"))
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"]
    assert values["SECURE_SSL_REDIRECT"] and values["SECURE_HSTS_SECONDS"] == 31536000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] and values["SECURE_HSTS_PRELOAD"]
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["SECURE_CONTENT_TYPE_NOSNIFF"] and values["SESSION_COOKIE_HTTPONLY"]
    assert values["X_FRAME_OPTIONS"] == "DENY"
    assert values["SECURE_REFERRER_POLICY"] == "same-origin"
    # Each switch can still be set on its own, e.g. a proxy that redirects to HTTPS itself.
    values = settings_with(tmp_path, **production(SECURE_SSL_REDIRECT="false",
                                                  SECURE_HSTS_SECONDS="3600"))  # fmt: skip
    assert not values["SECURE_SSL_REDIRECT"] and values["SESSION_COOKIE_SECURE"]
    assert values["SECURE_HSTS_SECONDS"] == 3600


def test_development_needs_no_configuration(tmp_path):
    values = settings_with(tmp_path)
    assert not values["SESSION_COOKIE_SECURE"] and not values["SECURE_SSL_REDIRECT"]
    assert values["SECURE_HSTS_SECONDS"] == 0 and values["SECURE_PROXY_SSL_HEADER"] is None
    assert len(values["SECRET_KEY"]) >= 50  # a throwaway key, random per start


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = run(["-c", SHOW], tmp_path, **production(SECRET_KEY=""))
    assert result.returncode != 0
    assert "SECRET_KEY must be set when HTTPS=true and DEBUG is off." in result.stderr


def test_channel_layer_encryption_keys_come_from_the_environment(tmp_path):
    config = settings_with(tmp_path)["CHANNEL_LAYERS"]["default"]["CONFIG"]
    assert config["symmetric_encryption_keys"] is None
    values = settings_with(tmp_path, CHANNEL_LAYER_ENCRYPTION_KEYS="new-key, old-key")
    config = values["CHANNEL_LAYERS"]["default"]["CONFIG"]
    assert config["symmetric_encryption_keys"] == ["new-key", "old-key"]


@pytest.mark.asyncio
async def test_an_encrypted_channel_layer_delivers_and_redis_sees_only_ciphertext(redis_url):
    prefix = f"test-encrypted-{uuid.uuid4().hex}"
    layer = RedisChannelLayer(hosts=[redis_url], prefix=prefix,
                              symmetric_encryption_keys=["new-key", "old-key"])  # fmt: skip
    channel = await layer.new_channel()
    await layer.group_add("exam-1", channel)
    event = {"type": "flag.raised", "flag": {"student_name": "Ada Lovelace"}}
    await layer.group_send("exam-1", event)
    stored = redis.Redis.from_url(redis_url)
    waiting = [member for key in stored.scan_iter(f"{prefix}*") if stored.type(key) == b"zset"
               for member in stored.zrange(key, 0, -1)]  # fmt: skip
    assert waiting and not any(b"Ada Lovelace" in member for member in waiting)
    assert await layer.receive(channel) == event
    # A layer rotated to a new first key still reads what the old key encrypted.
    rotated = RedisChannelLayer(hosts=[redis_url], prefix=prefix,
                                symmetric_encryption_keys=["newer-key", "new-key"])  # fmt: skip
    await layer.send("rotation", {"type": "ping"})
    assert await rotated.receive("rotation") == {"type": "ping"}
    await layer.flush()
    await rotated.close_pools()
