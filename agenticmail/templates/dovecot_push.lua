-- agenticmail: tell the daemon at once when a message lands in an INBOX or one there changes
-- (generated; do not edit).
-- Dovecot's push_notification Lua driver calls these per mailbox transaction; a POST without a
-- body (a body would wait for "100 Continue") reaches the daemon's loopback API with the
-- per-start secret from dovecot.conf. It only wakes the user's watcher: a lost POST costs
-- latency, never mail (IDLE, or a parked watcher's periodic look, is the safety net).
local client = nil

function script_init()
  client = dovecot.http.client({timeout = 500, max_attempts = 1})
  return 0
end

function dovecot_lua_notify_begin_txn(user)
  return {user = user, new = false}
end

local function inbox(ctx, event)
  if event.mailbox == "INBOX" then
    ctx.new = true
  end
end

dovecot_lua_notify_event_message_new = inbox
dovecot_lua_notify_event_message_append = inbox
-- changes too: a parked watcher (no IDLE session open) learns of them only this way
dovecot_lua_notify_event_message_read = inbox
dovecot_lua_notify_event_message_trash = inbox
dovecot_lua_notify_event_message_expunge = inbox
dovecot_lua_notify_event_flags_set = inbox
dovecot_lua_notify_event_flags_clear = inbox

function dovecot_lua_notify_end_txn(ctx)
  if not ctx.new then
    return
  end
  local request = client:request({
    url = ctx.user:plugin_getenv("agenticmail_push_url"), method = "POST"})
  request:add_header("Authorization",
                     "Bearer " .. ctx.user:plugin_getenv("agenticmail_push_secret"))
  request:add_header("X-Mailbox-User", ctx.user.username)
  request:submit()
end
