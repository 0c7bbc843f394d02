"""The router answers like Postgres for the simplest session."""


def test_select_through_router(router, direct):
    with router.connect() as conn:
        assert conn.execute("SELECT 1 + 1, current_user").fetchone() == (2, "demo")
        assert conn.info.parameter_status("server_version") == \
            direct.info.parameter_status("server_version")
