/**
 * HTTP side of the local blob store, mounted by the coordinator under
 * `/blobs` without user authentication: the signature in the URL is the
 * credential. `GET /<bucket>/<key>` streams an object, `PUT` streams an
 * upload of exactly the signed length into place.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { ApiError, badRequest, forbidden, notFound } from "../../shared/errors.ts";
import type { BlobGrant, UrlSigner } from "./url_signing.ts";
import { InvalidObjectKey, LengthMismatch, type LocalObjects, ObjectKeyConflict } from "./local_files.ts";

/** Query parameters of a signed URL. */
const SIGNED_URL_PARAMS = { expires: "expires", length: "length", signature: "signature" } as const;

/** The path of an object below the mount point: `/<bucket>/<each key segment URI-encoded>`. */
export function objectUrlPath(bucket: string, key: string): string {
  return `/${encodeURIComponent(bucket)}/${key.split("/").map(encodeURIComponent).join("/")}`;
}

/** The query string carrying a grant's expiry, length and signature. */
export function signedQuery(grant: BlobGrant, signature: string): string {
  const query = new URLSearchParams({ [SIGNED_URL_PARAMS.expires]: String(grant.expires) });
  if (grant.length !== null) query.set(SIGNED_URL_PARAMS.length, String(grant.length));
  query.set(SIGNED_URL_PARAMS.signature, signature);
  return query.toString();
}

const INTEGER = /^\d{1,15}$/;

/** Checks the request's signature, expiry and bucket; returns the grant it proves. */
async function authorize(c: Context, method: "GET" | "PUT", signer: UrlSigner, buckets: Set<string>) {
  const bucket = c.req.param("bucket") ?? "";
  const key = c.req.param("key") ?? "";
  const expires = c.req.query(SIGNED_URL_PARAMS.expires) ?? "";
  const length = c.req.query(SIGNED_URL_PARAMS.length);
  const signature = c.req.query(SIGNED_URL_PARAMS.signature) ?? "";
  if (
    !INTEGER.test(expires) || signature === "" ||
    (method === "PUT" ? !INTEGER.test(length ?? "") : length !== undefined)
  ) {
    throw forbidden("missing or malformed URL signature");
  }
  const grant: BlobGrant = {
    method,
    bucket,
    key,
    expires: Number(expires),
    length: method === "PUT" ? Number(length) : null,
  };
  if (!buckets.has(bucket) || !(await signer.verify(grant, signature))) {
    throw forbidden("URL signature does not match this request");
  }
  if (grant.expires * 1000 < Date.now()) throw forbidden("URL has expired");
  return grant;
}

/** Maps filesystem-layer errors to API errors. */
function asApiError(error: unknown): unknown {
  if (error instanceof InvalidObjectKey) return badRequest(error.message);
  if (error instanceof LengthMismatch) return forbidden(error.message);
  if (error instanceof ObjectKeyConflict) return new ApiError("Conflict", error.message);
  return error;
}

/** Routes serving signed GET and PUT requests for `buckets` (bucket names). */
export function localBlobRoutes(o: { objects: LocalObjects; signer: UrlSigner; buckets: string[] }): Hono {
  const buckets = new Set(o.buckets);
  const app = new Hono();

  // Hono answers HEAD with this handler and drops the body.
  // Hono answers HEAD with this handler and drops the body.
  app.get("/:bucket/:key{.+}", async (c) => {
    const grant = await authorize(c, "GET", o.signer, buckets);
    const headers = { "Content-Type": "application/octet-stream" };
    try {
      if (c.req.method === "HEAD") {
        const size = await o.objects.size(grant.bucket, grant.key);
        if (size === null) throw notFound(`object ${grant.key} not found`);
        return c.body(null, 200, { ...headers, "Content-Length": String(size) });
      }
      const object = await o.objects.open(grant.bucket, grant.key);
      if (object === null) throw notFound(`object ${grant.key} not found`);
      return c.body(object.file.readable, 200, { ...headers, "Content-Length": String(object.size) });
    } catch (error) {
      throw asApiError(error);
    }
  });

  app.put("/:bucket/:key{.+}", async (c) => {
    const grant = await authorize(c, "PUT", o.signer, buckets);
    const length = grant.length ?? 0;
    const announced = c.req.header("Content-Length");
    if (announced !== undefined && Number(announced) !== length) {
      throw forbidden(`upload must be exactly ${length} bytes, Content-Length says ${announced}`);
    }
    try {
      await o.objects.write(grant.bucket, grant.key, c.req.raw.body, length);
    } catch (error) {
      throw asApiError(error);
    }
    return c.body(null, 200);
  });

  return app;
}
