"""Keystone's admin API through the real `openstack` CLI: a second project
and user, a role grant, that user's own token, what it may not do, and its
token ending when the user is deleted or its project disabled."""

import json
import urllib.error
import urllib.request
import uuid

import pytest


def unique(prefix):
    # The cloud is shared by the whole session: never reuse a name.
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def as_user(cloud, user, password, project):
    return {
        "OS_USERNAME": user, "OS_PASSWORD": password, "OS_PROJECT_NAME": project,
        "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default",
    }


def token_status(cloud, admin_token, subject):
    """HTTP status of validating `subject` with the admin's token."""
    req = urllib.request.Request(
        cloud.openrc["OS_AUTH_URL"].rstrip("/") + "/auth/tokens",
        headers={"X-Auth-Token": admin_token, "X-Subject-Token": subject},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


@pytest.fixture
def demo(cloud):
    """A new project and member user, created with the CLI as admin."""
    project, user, password = unique("demo"), unique("demo"), "demo-" + uuid.uuid4().hex
    created = cloud.openstack("project", "create", "--description", "second project", project)
    assert created["name"] == project and created["enabled"] is True
    assert created["domain_id"] == "default"
    u = cloud.openstack("user", "create", "--password", password, "--project", project, user)
    assert u["name"] == user and u["default_project_id"] == created["id"]
    assert "password" not in u
    cloud.run("openstack", "role", "add", "--project", project, "--user", user, "member")
    return {"project": project, "project_id": created["id"], "user": user,
            "user_id": u["id"], "password": password}


def test_role_assignment_list_names(cloud, demo):
    rows = cloud.openstack("role", "assignment", "list", "--user", demo["user"], "--names")
    assert rows == [{
        "Role": "member", "User": f"{demo['user']}@Default", "Group": "",
        "Project": f"{demo['project']}@Default", "Domain": "", "System": "",
        "Inherited": False,
    }], rows
    ids = cloud.openstack("role", "assignment", "list", "--project", demo["project"])
    assert [(r["User"], r["Project"]) for r in ids] == [(demo["user_id"], demo["project_id"])]


def test_demo_token_is_scoped_to_demo_project(cloud, demo):
    env = as_user(cloud, demo["user"], demo["password"], demo["project"])
    tok = cloud.openstack("token", "issue", env=env)
    assert tok["project_id"] == demo["project_id"] and tok["user_id"] == demo["user_id"]
    # As in Keystone, a member may show its project by id (listing by name
    # is for admins).
    shown = cloud.openstack("project", "show", demo["project_id"], env=env)
    assert shown["name"] == demo["project"]
    me = cloud.openstack("user", "show", demo["user_id"], env=env)
    assert me["name"] == demo["user"]


def test_demo_user_is_refused_admin_commands(cloud, demo):
    env = as_user(cloud, demo["user"], demo["password"], demo["project"])
    for args in (["project", "create", unique("nope")], ["user", "list"], ["role", "list"]):
        r = cloud.run("openstack", *args, check=False, env=env)
        assert r.returncode != 0, (args, r.stdout)
        assert "403" in r.stderr or "not authorized" in r.stderr.lower(), (args, r.stderr)
    # `project list` is refused too, and OSC falls back to the user's own
    # projects (GET /v3/users/{id}/projects).
    mine = cloud.openstack("project", "list", env=env)
    assert [p["ID"] for p in mine] == [demo["project_id"]]


def test_admin_lists(cloud, demo):
    projects = {p["Name"] for p in cloud.openstack("project", "list")}
    assert {"admin", demo["project"]} <= projects
    users = {u["Name"] for u in cloud.openstack("user", "list")}
    assert {"admin", demo["user"]} <= users
    roles = {r["Name"] for r in cloud.openstack("role", "list")}
    assert {"admin", "member", "reader"} <= roles
    domains = cloud.openstack("domain", "list")
    assert [(d["ID"], d["Name"], d["Enabled"]) for d in domains] == [("default", "Default", True)]
    shown = cloud.openstack("user", "show", demo["user"])
    assert shown["id"] == demo["user_id"]


def test_user_delete_ends_its_token(cloud, demo):
    env = as_user(cloud, demo["user"], demo["password"], demo["project"])
    demo_token = cloud.openstack("token", "issue", env=env)["id"]
    admin_token = cloud.openstack("token", "issue")["id"]
    assert token_status(cloud, admin_token, demo_token) == 200
    cloud.run("openstack", "user", "delete", demo["user"])
    assert token_status(cloud, admin_token, demo_token) == 404
    r = cloud.run("openstack", "token", "issue", check=False, env=env)
    assert r.returncode != 0 and "401" in r.stderr, r.stderr
    names = {u["Name"] for u in cloud.openstack("user", "list")}
    assert demo["user"] not in names


def test_disabled_project_ends_its_tokens(cloud, demo):
    env = as_user(cloud, demo["user"], demo["password"], demo["project"])
    demo_token = cloud.openstack("token", "issue", env=env)["id"]
    admin_token = cloud.openstack("token", "issue")["id"]
    cloud.run("openstack", "project", "set", "--disable", demo["project"])
    assert cloud.openstack("project", "show", demo["project"])["enabled"] is False
    assert token_status(cloud, admin_token, demo_token) == 404
    r = cloud.run("openstack", "token", "issue", check=False, env=env)
    assert r.returncode != 0
    cloud.run("openstack", "project", "set", "--enable", demo["project"])
    assert cloud.openstack("token", "issue", env=env)["project_id"] == demo["project_id"]
    cloud.run("openstack", "project", "delete", demo["project"])
    r = cloud.run("openstack", "project", "show", demo["project"], check=False)
    assert r.returncode != 0 and ("No Project found" in r.stderr or "404" in r.stderr), r.stderr


def test_user_changes_own_password(cloud, demo):
    env = as_user(cloud, demo["user"], demo["password"], demo["project"])
    new = "changed-" + uuid.uuid4().hex
    cloud.run("openstack", "user", "password", "set",
              "--original-password", demo["password"], "--password", new, env=env)
    r = cloud.run("openstack", "token", "issue", check=False, env=env)
    assert r.returncode != 0
    env["OS_PASSWORD"] = new
    assert cloud.openstack("token", "issue", env=env)["user_id"] == demo["user_id"]
