import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, apiFor, onUnauthorized } from "@/lib/api";
import { API_URL } from "@/lib/config";

afterEach(() => {
  vi.unstubAllGlobals();
  onUnauthorized(null);
});

function answer(status: number, body: unknown) {
  return vi.fn(async () => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } }));
}

describe("apiFor(token).logoutAll", () => {
  it("posts to /api/auth/logout_all with the bearer token", async () => {
    const fetchMock = answer(200, { logged_out: true });
    vi.stubGlobal("fetch", fetchMock);

    await expect(apiFor("tok-1").logoutAll()).resolves.toEqual({ logged_out: true });

    expect(fetchMock).toHaveBeenCalledTimes(1);
    const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe(`${API_URL}/api/auth/logout_all`);
    expect(init.method).toBe("POST");
    expect((init.headers as Record<string, string>).Authorization).toBe("Bearer tok-1");
  });

  it("a refusal becomes an ApiError in the server's words, and a 401 ends the session", async () => {
    vi.stubGlobal("fetch", answer(401, { detail: "Invalid token" }));
    const ended = vi.fn();
    onUnauthorized(ended);

    const failure = await apiFor("old").logoutAll().catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(ApiError);
    expect(failure).toMatchObject({ status: 401, detail: "Invalid token" });
    expect(ended).toHaveBeenCalledWith("Invalid token");
  });
});

describe("failures that are not the backend's", () => {
  it("a reply without its detail (a proxy's page) becomes a plain sentence", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => new Response("<html>Bad gateway</html>", { status: 502, statusText: "Bad Gateway" })));
    await expect(apiFor("tok").logoutAll()).rejects.toMatchObject({ status: 502, detail: "The server had a problem (502). Please try again in a moment." });
    vi.stubGlobal("fetch", answer(404, { error: "not the backend's shape" }));
    await expect(apiFor("tok").logoutAll()).rejects.toMatchObject({ status: 404, detail: "Request failed (404)" });
  });
});
