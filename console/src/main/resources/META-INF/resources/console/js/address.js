// One written form for the peer addresses of the audit log, whatever transport recorded them: REST and gRPC, IPv4
// and IPv6 stacks hand the same client over as "127.0.0.1", "/127.0.0.1:52144", "::ffff:127.0.0.1",
// "0:0:0:0:0:0:0:1" or "fe80:0:0:0:0:0:0:1%eth0". Shown: IPv4 dotted; IPv6 in RFC 5952 form (lower case, longest
// zero run as "::"), no zone, no port; IPv4-mapped IPv6 as the IPv4 address. Anything else is shown as it is.

const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function v4(text) {
  const m = V4.exec(text);
  return m && m.slice(1).every((o) => Number(o) <= 255) ? m.slice(1).map(Number).join('.') : null;
}

/** 8 groups of 16 bits, or null when `text` is not an IPv6 literal. */
function v6Groups(text) {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || !text.includes(':')) return null;
  let tail = [];
  let s = text;
  const dotted = s.lastIndexOf(':');
  if (s.includes('.')) { // embedded IPv4 in the last 32 bits
    const four = v4(s.slice(dotted + 1));
    if (!four) return null;
    const o = four.split('.').map(Number);
    tail = [(o[0] << 8) | o[1], (o[2] << 8) | o[3]];
    s = s.slice(0, dotted + 1) + '0';
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const part = (p) => (p === '' ? [] : p.split(':'));
  const head = part(halves[0]);
  const rest = halves.length === 2 ? part(halves[1]) : [];
  if (tail.length) (halves.length === 2 ? rest : head).pop();
  const known = head.length + rest.length + tail.length;
  if (halves.length === 1 ? known !== 8 : known > 7) return null;
  const groups = [...head, ...Array(8 - known).fill('0'), ...rest];
  if (groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return null;
  return [...groups.map((g) => parseInt(g, 16)), ...tail];
}

function rfc5952(g) {
  let best = -1;
  let len = 0;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > len && j - i >= 2) { best = i; len = j - i; }
    i = j === i ? i + 1 : j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + len).join(':')}`;
}

/** The address as the audit view shows it; '' for none. */
export function displayAddress(raw) {
  if (!raw) return '';
  let a = String(raw).trim().replace(/^\//, '');
  let m = /^\[([^\]]+)\](?::\d+)?$/.exec(a); // [v6]:port
  if (m) a = m[1];
  m = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(a); // v4:port
  if (m) a = m[1];
  a = a.replace(/%.*$/, ''); // zone id
  const four = v4(a);
  if (four) return four;
  const g = v6Groups(a);
  if (!g) return String(raw);
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) { // ::ffff:a.b.c.d
    return [g[6] >> 8, g[6] & 255, g[7] >> 8, g[7] & 255].join('.');
  }
  return rfc5952(g);
}
