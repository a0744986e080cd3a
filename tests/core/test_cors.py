"""CORS follows CORS_ORIGINS (development defaults: the local front end)."""


async def test_preflight_from_an_allowed_origin_is_allowed(async_client, settings):
    response = await async_client.options(
        "/api/auth/login",
        headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert "authorization" in response["Access-Control-Allow-Headers"]


async def test_reply_to_an_allowed_origin_names_it(async_client):
    response = await async_client.get("/api/languages", headers={"Origin": "http://localhost:3000"})
    assert response["Access-Control-Allow-Origin"] == "http://localhost:3000"


async def test_other_origins_get_no_cors_headers(async_client):
    response = await async_client.options(
        "/api/auth/login",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "Access-Control-Allow-Origin" not in response
