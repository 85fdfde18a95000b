// Signing in to the dashboard when tokens are configured. A browser cannot
// put an Authorization header on a page load, so the page's token travels
// in a cookie instead: POST /login checks the token and sets it HttpOnly
// (page scripts never see it) and SameSite=Strict (no other site's page can
// make the browser send it: no cross-site request forgery), Secure over
// TLS. The auth module accepts the cookie where it accepts the header. The
// sign-in form is a static page holding no data; everything else still
// needs a token.
import type http from "node:http";
import type http2 from "node:http2";
import type { TLSSocket } from "node:tls";
import type { Auth } from "./auth.js";
import { TOKEN_COOKIE } from "./auth.js";
import { isOwnOrigin } from "./request-policy.js";

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

/** How long a dashboard sign-in lasts (12 hours). */
const COOKIE_MAX_AGE_S = 12 * 3600;
/** Largest sign-in form body read; a token is at most a few hundred bytes. */
const MAX_FORM_BYTES = 4096;

/** Paths of the dashboard page: a browser that is not signed in gets the form there. */
const PAGE_PATHS = new Set(["/", "/index.html"]);

/**
 * Handles /login and /logout, and answers a signed-out browser's page load
 * with the sign-in form. Returns true when it answered.
 */
export function handleLogin(auth: Auth, req: Req, res: Res, path: string): boolean {
  if (!auth.enabled) return false;
  if ((path === "/login" || path === "/logout") && req.method === "POST" && !fromOwnPage(req)) {
    // Signing in or out is the dashboard's own business: even an origin
    // allowed by --cors-origin may not set or clear the sign-in cookie.
    page(res, 403, "Sign in from this coordinator's own page.");
    return true;
  }
  if (path === "/login" && req.method === "POST") {
    void readForm(req).then(
      (form) => {
        const token = form.get("token")?.trim() ?? "";
        try {
          auth.authenticate({ authorization: `Bearer ${token}` });
        } catch {
          return page(res, 401, "That token is not valid.");
        }
        const secure = (req.socket as TLSSocket).encrypted ? "; Secure" : "";
        (res as http.ServerResponse).writeHead(303, {
          location: "/",
          "set-cookie": `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${COOKIE_MAX_AGE_S}${secure}`,
          "cache-control": "no-store",
        });
        res.end();
      },
      () => page(res, 413, "The form is too large."),
    );
    return true;
  }
  if (path === "/logout" && req.method === "POST") {
    (res as http.ServerResponse).writeHead(303, { location: "/login", "set-cookie": `${TOKEN_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`, "cache-control": "no-store" });
    res.end();
    return true;
  }
  if (path === "/login" && (req.method === "GET" || req.method === "HEAD")) {
    page(res, 200, "");
    return true;
  }
  // A browser loading the dashboard without a valid token: the form, not a JSON 401.
  if (PAGE_PATHS.has(path) && req.method === "GET" && /text\/html/.test(String(req.headers.accept ?? ""))) {
    try {
      auth.authenticate(req.headers as http.IncomingHttpHeaders);
      return false;
    } catch {
      page(res, 401, "");
      return true;
    }
  }
  return false;
}

/** No Origin (a tool, an old browser) or this server's own. */
function fromOwnPage(req: Req): boolean {
  const h = req.headers as http.IncomingHttpHeaders;
  const origin = h.origin;
  const host = (h[":authority"] as string | undefined) ?? h.host;
  return origin === undefined || isOwnOrigin(origin, host);
}

function readForm(req: Req): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_FORM_BYTES) {
        req.removeAllListeners("data");
        reject(new Error("too large"));
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(new URLSearchParams(Buffer.concat(chunks).toString("utf8"))));
    req.on("error", reject);
  });
}

function page(res: Res, status: number, error: string): void {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Horus Coordinator: sign in</title>
<style>body{font:15px system-ui,sans-serif;display:grid;place-items:center;min-height:90vh;margin:0;background:#f6f7f9}
form{background:#fff;padding:24px 28px;border:1px solid #dde;border-radius:8px;min-width:320px}
input{width:100%;box-sizing:border-box;padding:8px;margin:8px 0 14px;font:inherit}button{padding:8px 16px;font:inherit}
.error{color:#b00020}</style></head>
<body><form method="post" action="/login">
<h1 style="font-size:18px;margin:0 0 12px">Horus Coordinator</h1>
<label for="token">Token (a viewer token is enough to watch)</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
${error ? `<p class="error" id="login-error">${error}</p>` : ""}<button id="login" type="submit">Sign in</button>
</form></body></html>`;
  (res as http.ServerResponse).writeHead(status, {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
  });
  res.end(html);
}
