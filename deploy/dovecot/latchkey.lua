-- Latchkey's app passwords as a Dovecot passdb (Lua), for Dovecot 2.3 (package
-- dovecot-auth-lua) and 2.4, where the checkpassword passdb is gone.
--
-- Every login asks the running Latchkey server, `GET /auth/basic` with the login as Basic
-- credentials, the Dovecot service (imap, pop3, submission, smtp for Postfix's SASL, sieve)
-- in `X-Latchkey-Protocol`, and the client's address in `X-Forwarded-For` (Latchkey believes
-- it from the addresses in --trusted-proxies, loopback by default). So Dovecot opens no
-- database connection and shares Latchkey's cache and throttling:
--   204           -> the login is accepted (under the account's own spelling of the name);
--   401           -> wrong password;
--   anything else -> a temporary failure (throttled, database down, Latchkey unreachable).
--
-- The HTTP call uses luasocket (Debian: lua-socket), not Dovecot's own `dovecot.http`: that
-- client exists in 2.3.19 and 2.4 but takes its settings differently in each, while
-- luasocket behaves the same under both.
--
-- Where Latchkey listens, by default http://127.0.0.1:3000: on Dovecot 2.4 the setting
-- `latchkey_url` in the passdb's `lua_settings { }`; on 2.3 (whose scripts get no settings) the
-- environment variable LATCHKEY_URL, passed with `import_environment` (Dovecot clears the
-- environment of its processes).

local http = require("socket.http")
local ltn12 = require("ltn12")
local mime = require("mime")

-- A login must not hang the auth worker for long.
local TIMEOUT_SECONDS = 10

local latchkey_url = "http://127.0.0.1:3000"

function script_init(settings)
  local configured = settings and settings["latchkey_url"]
  if configured == nil or configured == "" then
    configured = os.getenv("LATCHKEY_URL")
  end
  if configured ~= nil and configured ~= "" then
    latchkey_url = configured
  end
  latchkey_url = latchkey_url:gsub("/+$", "")
  return 0
end

function script_deinit()
end

-- A field of the auth request, or nil when this Dovecot has no such field (2.4 calls the
-- service `protocol`).
local function request_field(req, name)
  local ok, value = pcall(function() return req[name] end)
  if ok and value ~= nil and value ~= "" then
    return tostring(value)
  end
  return nil
end

-- Asks Latchkey about `password` for this request's user; returns the HTTP status (or nil
-- and why not) and the response headers.
local function ask_latchkey(req, password)
  local headers = {
    ["Authorization"] = "Basic " .. mime.b64(req.user .. ":" .. password),
    ["User-Agent"] = "Dovecot Lua passdb",
  }
  local protocol = request_field(req, "service") or request_field(req, "protocol")
  if protocol ~= nil then
    headers["X-Latchkey-Protocol"] = protocol
  end
  local client_ip = request_field(req, "remote_ip")
  if client_ip ~= nil then
    headers["X-Forwarded-For"] = client_ip
  end
  http.TIMEOUT = TIMEOUT_SECONDS
  local ok, status, response_headers = http.request({
    url = latchkey_url .. "/auth/basic",
    method = "GET",
    headers = headers,
    sink = ltn12.sink.null(),
    redirect = false,
  })
  if ok == nil then
    return nil, status, nil
  end
  return status, nil, response_headers
end

function auth_password_verify(req, password)
  local status, failure, response_headers = ask_latchkey(req, password)
  if status == nil then
    return dovecot.auth.PASSDB_RESULT_INTERNAL_FAILURE,
      "cannot reach Latchkey at " .. latchkey_url .. ": " .. tostring(failure)
  end
  if status == 204 then
    local canonical = response_headers and response_headers["x-latchkey-user"]
    if canonical ~= nil and canonical ~= "" then
      return dovecot.auth.PASSDB_RESULT_OK, { user = canonical }
    end
    return dovecot.auth.PASSDB_RESULT_OK, {}
  end
  if status == 401 then
    return dovecot.auth.PASSDB_RESULT_PASSWORD_MISMATCH, "wrong app password"
  end
  return dovecot.auth.PASSDB_RESULT_INTERNAL_FAILURE, "Latchkey answered HTTP " .. tostring(status)
end

-- Only a password can be checked: there is nothing to look up without one (no CRAM-MD5,
-- no master-user logins).
function auth_passdb_lookup(req)
  return dovecot.auth.PASSDB_RESULT_USER_UNKNOWN, "Latchkey checks passwords only"
end
