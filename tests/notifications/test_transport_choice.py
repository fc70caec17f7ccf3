"""Which transport a process uses, and the retry schedule."""

from __future__ import annotations

import json
import logging

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from domain.settings import PushSettings, Settings
from notifications.dispatcher import backoff_seconds
from notifications.fcm import FcmTransport
from notifications.transports import LogTransport, Outcome, PushMessage, RecordingTransport, build_transport


def settings_with(tmp_path, **fields) -> Settings:
    return Settings(environment="test", data_dir=tmp_path, secret_key="k" * 48, **fields)


async def test_without_credentials_the_log_transport_is_used_and_says_so(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="mimamori.push"):
        transport = build_transport(settings_with(tmp_path, push_transport="auto", fcm_credentials_file=""))
    assert isinstance(transport, LogTransport)
    assert "no Firebase credentials configured" in caplog.text
    message = PushMessage("d1", "dev1", "tok", "title 山田", "body", {"kind": "reminder"})
    with caplog.at_level(logging.INFO, logger="mimamori.push"):
        [result] = await transport.send([message])
    assert result.outcome == Outcome.SENT
    assert "山田" not in caplog.text and "tok" not in caplog.text  # ids only


async def test_a_service_account_file_selects_fcm(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    account = tmp_path / "service-account.json"
    account.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "mimamori-prod",
                "private_key_id": "k1",
                "private_key": pem.decode(),
                "client_email": "push@mimamori-prod.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        )
    )
    transport = build_transport(
        settings_with(tmp_path, push_transport="auto", fcm_credentials_file=str(account))
    )
    try:
        assert isinstance(transport, FcmTransport)
        assert transport.app.project_id == "mimamori-prod"
    finally:
        await transport.close()
    assert isinstance(
        build_transport(settings_with(tmp_path, push_transport="recording")), RecordingTransport
    )


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap():
    config = PushSettings(_env_file=None, backoff_base_seconds=10, backoff_cap_seconds=300)
    for attempt, ceiling in [(1, 10), (2, 20), (3, 40), (6, 300), (12, 300)]:
        delays = {backoff_seconds(attempt, config) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered: retries of many phones do not arrive together
