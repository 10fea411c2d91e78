// agenticmail's Email Worker: Cloudflare Email Routing hands it each message for the domain;
// it POSTs the raw message with its envelope to the daemon's inbound endpoint (through the
// Cloudflare Tunnel), signed the Standard Webhooks way with the secret held in the Worker
// secret binding INBOUND_SECRET (never in this text). The daemon's URL is the plain-text
// binding INBOUND_URL. A permanent refusal (a 4xx: unknown recipient, too large) rejects the
// message with the daemon's reason; anything else throws, so the sending server retries
// later: a 5xx, no answer, and also 401 (the daemon refused our signature: a secret or clock
// out of step is the owner's to fix, not the sender's mail to bounce), 408 and 429.

const encoder = new TextEncoder();

function base64(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

async function sign(secret, id, timestamp, body) {
  const key = secret.startsWith("whsec_") ? secret.slice(6) : secret;
  const raw = Uint8Array.from(atob(key), (c) => c.charCodeAt(0));
  const hmac = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" },
                                             false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", hmac, encoder.encode(`${id}.${timestamp}.${body}`));
  return `v1,${base64(new Uint8Array(mac))}`;
}

export default {
  async email(message, env) {
    const raw = new Uint8Array(await new Response(message.raw).arrayBuffer());
    const id = `msg_${crypto.randomUUID()}`;
    const timestamp = Math.floor(Date.now() / 1000).toString();
    const body = JSON.stringify({ from: message.from, to: message.to, raw: base64(raw) });
    const response = await fetch(env.INBOUND_URL, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "webhook-id": id,
        "webhook-timestamp": timestamp,
        "webhook-signature": await sign(env.INBOUND_SECRET, id, timestamp, body),
      },
      body,
    });
    if (response.ok) return;
    const permanent = response.status >= 400 && response.status < 500
      && ![401, 408, 429].includes(response.status);
    let reason = `refused by agenticmail (HTTP ${response.status})`;
    try {
      const answer = await response.json();
      if (answer && answer.error && answer.error.message) reason = answer.error.message;
    } catch (_) { /* not JSON: keep the status */ }
    if (permanent) {
      await message.setReject(reason);  // void in production; awaited where it is a call away
      return;
    }
    throw new Error(reason);
  },
};
