import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, apiFor, attachmentName, onUnauthorized } from "@/lib/api";
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

describe("apiFor(token).exportMyData", () => {
  it("gets /api/auth/me/export with the bearer token, as a file with the server's name for it", async () => {
    const exported = { format: "commonality-user-export/1", messages: [] };
    const fetchMock = vi.fn(
      async () =>
        new Response(JSON.stringify(exported), {
          status: 200,
          headers: {
            "Content-Type": "application/json",
            "Content-Disposition": 'attachment; filename="commonality-data-2026-11-27.json"',
          },
        }),
    );
    vi.stubGlobal("fetch", fetchMock);

    const file = await apiFor("tok-2").exportMyData();

    const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe(`${API_URL}/api/auth/me/export`);
    expect(init.method ?? "GET").toBe("GET");
    expect((init.headers as Record<string, string>).Authorization).toBe("Bearer tok-2");
    expect(file.filename).toBe("commonality-data-2026-11-27.json");
    expect(JSON.parse(await file.blob.text())).toEqual(exported);
  });

  it("names the file itself when the header can't be read (another origin)", async () => {
    vi.stubGlobal("fetch", answer(200, { format: "commonality-user-export/1" }));
    const file = await apiFor("tok").exportMyData();
    expect(file.filename).toMatch(/^commonality-data-\d{4}-\d{2}-\d{2}\.json$/);
  });

  it("a refusal (rate limit) is an ApiError in the server's words", async () => {
    vi.stubGlobal("fetch", answer(429, { detail: "too many data exports; try again in 60 seconds" }));
    await expect(apiFor("tok").exportMyData()).rejects.toMatchObject({
      status: 429,
      detail: "too many data exports; try again in 60 seconds",
    });
  });
});

describe("attachmentName", () => {
  it("keeps only a plain file name", () => {
    expect(attachmentName('attachment; filename="a-1.json"', "x.json")).toBe("a-1.json");
    expect(attachmentName('attachment; filename="../../etc/passwd"', "x.json")).toBe("x.json");
    expect(attachmentName("attachment", "x.json")).toBe("x.json");
    expect(attachmentName(null, "x.json")).toBe("x.json");
  });
});

describe("apiFor(token).deleteAccount", () => {
  it("posts the password to /api/auth/me/delete with the bearer token", async () => {
    const fetchMock = answer(200, { deleted: true });
    vi.stubGlobal("fetch", fetchMock);

    await expect(apiFor("tok-3").deleteAccount("correct horse")).resolves.toEqual({ deleted: true });

    const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe(`${API_URL}/api/auth/me/delete`);
    expect(init.method).toBe("POST");
    expect((init.headers as Record<string, string>).Authorization).toBe("Bearer tok-3");
    expect(JSON.parse(init.body as string)).toEqual({ password: "correct horse" });
  });

  it("a wrong password is a 403 in the server's words that leaves the session alone", async () => {
    vi.stubGlobal("fetch", answer(403, { detail: "Incorrect password" }));
    const ended = vi.fn();
    onUnauthorized(ended);

    await expect(apiFor("tok").deleteAccount("nope")).rejects.toMatchObject({ status: 403, detail: "Incorrect password" });
    expect(ended).not.toHaveBeenCalled();
  });
});
