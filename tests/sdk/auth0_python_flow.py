"""The official Auth0 Python SDK (4.x, protocol="http") against a running rulebox.

usage: auth0_python_flow.py BASE_URL TENANT CLIENT_ID CLIENT_SECRET
Exits non-zero with a message on the first thing that does not behave as Auth0 does.
"""
import sys

from auth0.authentication import GetToken
from auth0.authentication.token_verifier import AsymmetricSignatureVerifier, TokenVerifier
from auth0.exceptions import Auth0Error
from auth0.management.actions import Actions
from auth0.management.clients import Clients
from auth0.management.connections import Connections
from auth0.management.users import Users


def main(base, tenant, client_id, client_secret):
    host = base.split("://", 1)[1]
    domain = f"{host}/t/{tenant}"
    issuer = f"http://{domain}/"

    mgmt = GetToken(domain, client_id, client_secret, protocol="http").client_credentials(
        audience=f"http://{domain}/api/v2/"
    )["access_token"]
    clients = Clients(domain, mgmt, protocol="http")
    app = clients.create({
        "name": "python-sdk-app",
        "grant_types": ["password", "http://auth0.com/oauth/grant-type/password-realm", "refresh_token"],
    })
    app_id, app_secret = app["client_id"], app["client_secret"]
    assert clients.get(app_id)["name"] == "python-sdk-app"

    conn = Connections(domain, mgmt, protocol="http").create(
        {"name": "sdk-db", "strategy": "auth0", "enabled_clients": [app_id]}
    )
    assert conn["name"] == "sdk-db", conn

    users = Users(domain, mgmt, protocol="http")
    for email in ("alice@example.com", "eve@evil.com"):
        u = users.create({"connection": "sdk-db", "email": email, "password": "correct horse battery"})
        assert u["email"] == email, u

    actions = Actions(domain, mgmt, protocol="http")
    action = actions.create_action({
        "name": "sdk-claims",
        "supported_triggers": [{"id": "post-login", "version": "v3"}],
        "code": (
            "exports.onExecutePostLogin = async (event, api) => {\n"
            "  if (event.user.email.endsWith('@evil.com')) api.access.deny('evil.com is not welcome');\n"
            "  api.idToken.setCustomClaim('https://example.com/sdk', 'yes');\n"
            "};"
        ),
    })
    actions.deploy_action(action["id"])
    actions.update_trigger_bindings(
        "post-login", {"bindings": [{"ref": {"type": "action_id", "value": action["id"]}, "display_name": "sdk"}]}
    )
    bindings = actions.get_trigger_bindings("post-login")
    assert bindings["bindings"][0]["action"]["id"] == action["id"], bindings

    auth = GetToken(domain, app_id, app_secret, protocol="http")
    tokens = auth.login(
        username="alice@example.com", password="correct horse battery", realm="sdk-db",
        scope="openid profile email",
    )
    verifier = TokenVerifier(
        signature_verifier=AsymmetricSignatureVerifier(f"http://{domain}/.well-known/jwks.json"),
        issuer=issuer,
        audience=app_id,
    )
    claims = verifier.verify(tokens["id_token"])
    assert claims["https://example.com/sdk"] == "yes", claims
    assert claims["email"] == "alice@example.com", claims

    for username, password, code in (
        ("eve@evil.com", "correct horse battery", "access_denied"),
        ("alice@example.com", "wrong", "invalid_grant"),
    ):
        try:
            auth.login(username=username, password=password, realm="sdk-db", scope="openid")
        except Auth0Error as e:
            assert e.error_code == code, (username, e.error_code, e.message)
        else:
            raise AssertionError(f"{username} should have been refused with {code}")

    print("auth0-python flow ok")


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    try:
        main(*sys.argv[1:])
    except Exception as e:  # report, do not trace back into the SDK
        sys.exit(f"auth0-python flow failed: {type(e).__name__}: {e}")
