"""The official Auth0 Python SDK (4.x, protocol="http") against a running rulebox.

usage: auth0_python_flow.py BASE_URL TENANT CLIENT_ID CLIENT_SECRET
   or: RULEBOX_BASE_URL=.. RULEBOX_TENANT=.. RULEBOX_CLIENT_ID=.. RULEBOX_CLIENT_SECRET=.. auth0_python_flow.py

BASE_URL is what `rulebox serve` announces (http://127.0.0.1:PORT); CLIENT_ID and
CLIENT_SECRET are the bootstrap management client's. Prints "auth0-python flow ok"
and exits 0, or exits non-zero naming the step that did not behave as Auth0 does.
"""
import base64
import hashlib
import hmac
import os
import secrets
import struct
import sys
import time

import requests

import auth0
from auth0.authentication import GetToken
from auth0.authentication.token_verifier import AsymmetricSignatureVerifier, TokenVerifier
from auth0.exceptions import Auth0Error
from auth0.management.actions import Actions
from auth0.management.client_grants import ClientGrants
from auth0.management.clients import Clients
from auth0.management.connections import Connections
from auth0.management.users import Users

PASSWORD = "correct horse battery"
# Fresh names each run, so the script can be re-run against a server that has kept data.
RUN = secrets.token_hex(3)
CONNECTION = f"sdk-db-{RUN}"
CLAIM = "https://example.com/sdk"
ACTION = """exports.onExecutePostLogin = async (event, api) => {
  if (event.user.email.endsWith('@evil.com')) {
    api.access.deny('evil.com is not welcome');
  }
  api.idToken.setCustomClaim('https://example.com/sdk', 'yes');
  if (event.user.email.startsWith('mfa@')) {
    api.multifactor.enable('any');
  }
};
"""
MFA_OTP = "http://auth0.com/oauth/grant-type/mfa-otp"


def totp(secret_base32, now=None):
    """The code an authenticator app shows (RFC 6238: SHA-1, 6 digits, 30 s), written
    here independently of the server's implementation."""
    key = base64.b32decode(secret_base32 + "=" * (-len(secret_base32) % 8))
    counter = struct.pack(">Q", int(now if now is not None else time.time()) // 30)
    digest = hmac.new(key, counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


class Failed(Exception):
    pass


def check(ok, what):
    # Not `assert`: the checks must survive `python -O` / PYTHONOPTIMIZE.
    if not ok:
        raise Failed(what)


def main(base, tenant, client_id, client_secret):
    host = base.split("://", 1)[-1].rstrip("/")
    domain = f"{host}/t/{tenant}"
    issuer = f"http://{domain}/"
    step = "start"

    def at(name):
        nonlocal step
        step = name

    try:
        at("GetToken.client_credentials (management token)")
        grant = GetToken(domain, client_id, client_secret, protocol="http").client_credentials(
            audience=f"http://{domain}/api/v2/"
        )
        mgmt = grant.get("access_token")
        check(isinstance(mgmt, str) and mgmt, f"no access_token in {grant}")

        at("ClientGrants.all / update")
        grants = ClientGrants(domain, mgmt, protocol="http")
        found = grants.all(audience=f"http://{domain}/api/v2/", client_id=client_id, include_totals=True)
        check(found.get("total") == 1, f"the management client's grant by audience: {found}")
        grant = found["client_grants"][0]
        kept = grants.update(grant["id"], {"scope": grant["scope"]})
        check(kept.get("scope") == grant["scope"], f"grant after update: {kept}")

        at("Clients.create")
        clients = Clients(domain, mgmt, protocol="http")
        app = clients.create({
            "name": f"python-sdk-app-{RUN}",
            "app_type": "regular_web",
            "grant_types": [
                "password",
                "http://auth0.com/oauth/grant-type/password-realm",
                "refresh_token",
                MFA_OTP,
            ],
        })
        app_id, app_secret = app.get("client_id"), app.get("client_secret")
        check(app_id and app_secret, f"client_id/client_secret missing from {app}")
        at("Clients.get")
        got = clients.get(app_id)
        check(got.get("name") == f"python-sdk-app-{RUN}", f"unexpected client {got}")
        at("Clients.all, page by page")
        seen = []
        for page in range(100):
            batch = clients.all(fields=["client_id"], page=page, per_page=1)
            check(isinstance(batch, list), f"a page of clients is a list: {batch}")
            if not batch:
                break
            check(list(batch[0]) == ["client_id"], f"fields=client_id left {batch}")
            seen += [c["client_id"] for c in batch]
        check(app_id in seen and len(seen) == len(set(seen)), f"pages of clients: {seen}")

        at("Connections.create")
        conn = Connections(domain, mgmt, protocol="http").create(
            {"name": CONNECTION, "strategy": "auth0", "enabled_clients": [app_id]}
        )
        check(conn.get("name") == CONNECTION and conn.get("id"), f"unexpected connection {conn}")

        users = Users(domain, mgmt, protocol="http")
        user_ids = {}
        for email in ("alice@example.com", "eve@evil.com", "mfa@example.com"):
            at(f"Users.create {email}")
            u = users.create({"connection": CONNECTION, "email": email, "password": PASSWORD})
            check(u.get("email") == email and u.get("user_id"), f"unexpected user {u}")
            user_ids[email] = u["user_id"]

        # Creating an Action snapshots its code before answering: in the debug build the
        # tests run, on a machine shared with the other tests, that can pass the SDK's
        # 5 s default timeout (a release build answers in a fraction of a second).
        actions = Actions(domain, mgmt, protocol="http", timeout=60.0)
        at("Actions.create_action")
        action = actions.create_action({
            "name": f"sdk-claims-{RUN}",
            "supported_triggers": [{"id": "post-login", "version": "v3"}],
            "code": ACTION,
        })
        action_id = action.get("id")
        check(action_id, f"no id in {action}")
        at("Actions.deploy_action")
        actions.deploy_action(action_id)
        at("Actions.get_actions")
        listed = actions.get_actions(deployed=True, per_page=1, page=0)
        check(
            listed.get("total") == 1 and listed["actions"][0]["id"] == action_id,
            f"deployed Actions: {listed}",
        )
        at("Actions.update_trigger_bindings")
        actions.update_trigger_bindings(
            "post-login",
            {"bindings": [{"ref": {"type": "action_id", "value": action_id}, "display_name": "x"}]},
        )
        at("Actions.get_trigger_bindings")
        bound = actions.get_trigger_bindings("post-login")
        bound_ids = [b.get("action", {}).get("id") for b in bound.get("bindings", [])]
        check(bound_ids == [action_id], f"post-login bindings are {bound}")

        auth = GetToken(domain, app_id, app_secret, protocol="http")
        at("GetToken.login alice@example.com")
        tokens = auth.login(
            username="alice@example.com",
            password=PASSWORD,
            realm=CONNECTION,
            scope="openid profile email",
        )
        check(tokens.get("id_token"), f"no id_token in {sorted(tokens)}")
        check(tokens.get("access_token"), f"no access_token in {sorted(tokens)}")

        at("TokenVerifier.verify (ID token against the JWKS)")
        verifier = TokenVerifier(
            signature_verifier=AsymmetricSignatureVerifier(f"http://{domain}/.well-known/jwks.json"),
            issuer=issuer,
            audience=app_id,
        )
        claims = verifier.verify(tokens["id_token"])
        check(claims.get(CLAIM) == "yes", f"the Action's claim {CLAIM} is not in {claims}")
        check(claims.get("email") == "alice@example.com", f"email claim wrong in {claims}")

        for username, password, code in (
            ("eve@evil.com", PASSWORD, "access_denied"),
            ("alice@example.com", "wrong password", "invalid_grant"),
        ):
            at(f"GetToken.login {username} must raise Auth0Error({code})")
            try:
                auth.login(username=username, password=password, realm=CONNECTION, scope="openid")
            except Auth0Error as e:
                check(
                    e.error_code == code,
                    f"Auth0Error error_code={e.error_code!r} (status {e.status_code}, "
                    f"message {e.message!r}); expected {code!r}",
                )
            else:
                raise Failed(f"no Auth0Error: {username} was logged in")

        at("GetToken.login mfa@example.com must raise Auth0Error(mfa_required) with an mfa_token")
        try:
            auth.login(username="mfa@example.com", password=PASSWORD, realm=CONNECTION,
                       scope="openid")
        except Auth0Error as e:
            check(e.error_code == "mfa_required", f"error_code={e.error_code!r}")
            mfa_token = (e.content or {}).get("mfa_token")
            check(isinstance(mfa_token, str) and mfa_token, f"no mfa_token in {e.content}")
        else:
            raise Failed("no Auth0Error: the MFA user was logged in without a second factor")

        at("POST /mfa/associate (bearer mfa_token)")
        r = requests.post(
            f"http://{domain}/mfa/associate",
            headers={"Authorization": f"Bearer {mfa_token}"},
            json={"authenticator_types": ["otp"]},
            timeout=10,
        )
        check(r.status_code == 200, f"status {r.status_code}: {r.text}")
        enrolled = r.json()
        check(enrolled.get("authenticator_type") == "otp" and enrolled.get("secret"),
              f"unexpected enrollment {enrolled}")

        at("GetToken.authenticated_post mfa-otp grant")
        tokens = auth.authenticated_post(
            f"http://{domain}/oauth/token",
            data={"client_id": app_id, "grant_type": MFA_OTP, "mfa_token": mfa_token,
                  "otp": totp(enrolled["secret"])},
        )
        at("TokenVerifier.verify (the ID token after MFA)")
        claims = verifier.verify(tokens["id_token"])
        check(claims.get("amr") == ["mfa"], f"amr is not ['mfa'] in {claims}")
        check(claims.get(CLAIM) == "yes", f"the Action's claim is not in {claims}")

        mfa_user = user_ids["mfa@example.com"]
        at("Users.get_guardian_enrollments")
        enrollments = users.get_guardian_enrollments(mfa_user)
        check([e.get("status") for e in enrollments] == ["confirmed"],
              f"enrollments are {enrollments}")
        at("Users.delete_authenticators")
        users.delete_authenticators(mfa_user)
        check(users.get_guardian_enrollments(mfa_user) == [], "the enrollment survived its reset")
    except Failed as e:
        sys.exit(f"auth0-python flow failed at {step}: {e}")
    except Auth0Error as e:
        sys.exit(
            f"auth0-python flow failed at {step}: Auth0Error status={e.status_code} "
            f"error_code={e.error_code!r} message={e.message!r}"
        )
    except Exception as e:  # noqa: BLE001 - report which step, whatever broke
        sys.exit(f"auth0-python flow failed at {step}: {type(e).__name__}: {e}")

    print(f"auth0-python {auth0.__version__} flow ok")


if __name__ == "__main__":
    names = ("RULEBOX_BASE_URL", "RULEBOX_TENANT", "RULEBOX_CLIENT_ID", "RULEBOX_CLIENT_SECRET")
    args = sys.argv[1:] or [os.environ.get(n) for n in names]
    if len(args) != 4 or not all(args):
        sys.exit(__doc__)
    main(*args)
