'use strict';
// Google's JSON error bodies, in the exact shape and field order the Gmail and
// Directory APIs send: {"error":{"code","message","errors":[{message,domain,reason}],"status"}}.
// Clients parse these, so wording and reasons are copied from real answers
// (see ../shared/notes/google-api.md section 2.3).

const STATUS = {
  400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND', 409: 'ALREADY_EXISTS', 413: 'INVALID_ARGUMENT',
  429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE',
};

// An answer is {status, headers, body}; handlers return one or throw an ApiError.
class ApiError extends Error {
  constructor(code, message, reason, opts = {}) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.domain = opts.domain || 'global';
    this.status = opts.status || STATUS[code] || 'UNKNOWN';
    this.headers = opts.headers || {};
    this.extra = opts.extra || null;   // extra fields of errors[0] (location...)
    this.details = opts.details || null;
    this.bare = !!opts.bare;           // no errors[] array (batch limit answer)
  }
}

function errorBody(e) {
  const inner = { code: e.code, message: e.message };
  if (!e.bare) inner.errors = [Object.assign({ message: e.errorsMessage || e.message, domain: e.domain, reason: e.reason }, e.extra || {})];
  inner.status = e.status;
  if (e.details) inner.details = e.details;
  return { error: inner };
}

function answerOf(e, pretty = true) {
  const headers = Object.assign({ 'content-type': 'application/json; charset=UTF-8' }, e.headers);
  return { status: e.code, headers, body: Buffer.from(JSON.stringify(errorBody(e), null, pretty ? 2 : 0) + '\n') };
}

const E = {
  notFound: () => new ApiError(404, 'Requested entity was not found.', 'notFound'),
  badRequest: (msg) => new ApiError(400, msg, 'badRequest'),
  invalidArgument: (msg) => new ApiError(400, msg, 'invalidArgument'),
  failedPrecondition: (msg) => new ApiError(400, msg || 'Precondition check failed.', 'failedPrecondition', { status: 'FAILED_PRECONDITION' }),
  missingCredentials: () => {
    const e = new ApiError(401, 'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
      'required', { extra: { location: 'Authorization', locationType: 'header' }, headers: { 'www-authenticate': 'Bearer realm="https://accounts.google.com/"' } });
    e.errorsMessage = 'Login Required.';
    return e;
  },
  invalidCredentials: () => {
    const e = new ApiError(401, 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
      'authError', { extra: { location: 'Authorization', locationType: 'header' }, headers: { 'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"' } });
    e.errorsMessage = 'Invalid Credentials';
    return e;
  },
  insufficientScopes: (method, service) => {
    const e = new ApiError(403, 'Request had insufficient authentication scopes.', 'insufficientPermissions', {
      headers: { 'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="insufficient_scope"' },
      details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'ACCESS_TOKEN_SCOPE_INSUFFICIENT', domain: 'googleapis.com', metadata: { method: method, service: service || 'gmail.googleapis.com' } }],
    });
    e.errorsMessage = 'Insufficient Permission';
    return e;
  },
  forbidden: (msg) => new ApiError(403, msg, 'forbidden'),
  concurrency: () => new ApiError(429, 'Too many concurrent requests for user', 'rateLimitExceeded', { domain: 'usageLimits' }),
  backendError: () => new ApiError(500, 'Internal error encountered.', 'backendError'),
  unavailable: () => new ApiError(503, 'The service is currently unavailable.', 'backendError'),
};

module.exports = { ApiError, E, errorBody, answerOf };
