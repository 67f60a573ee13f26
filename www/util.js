// Small pure helpers for the roomcast page: JSON rendering and formatting.

const TOKEN = /("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false)\b|\b(null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;

/** Returns a DocumentFragment: `value` pretty-printed, tokens in <span>s. */
export function renderJson(value) {
	const text = JSON.stringify(value, null, 2) ?? String(value);
	const frag = document.createDocumentFragment();
	let last = 0;
	for (const m of text.matchAll(TOKEN)) {
		if (m.index > last)
			frag.append(text.slice(last, m.index));
		const span = document.createElement('span');
		if (m[1] !== undefined) {
			span.className = m[2] ? 'j-key' : 'j-str';
			span.textContent = m[1];
			frag.append(span);
			if (m[2]) frag.append(m[2]);
		} else {
			span.className = m[3] ? 'j-bool' : m[4] ? 'j-null' : 'j-num';
			span.textContent = m[0];
			frag.append(span);
		}
		last = m.index + m[0].length;
	}
	if (last < text.length)
		frag.append(text.slice(last));
	return frag;
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
const intFmt = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const compactFmt = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });

/** HH:MM:SS in local time. */
export function fmtTime(d) {
	return timeFmt.format(d);
}

/** An integer with digit grouping, compact above a million; '–' for null. */
export function fmtInt(v) {
	if (v === null || v === undefined) return '–';
	return Math.abs(v) >= 1e6 ? compactFmt.format(v) : intFmt.format(v);
}

/** A rate: one decimal below 10, whole numbers above, compact when large. */
export function fmtRate(v) {
	if (v === null || v === undefined) return '–';
	if (v >= 1e4) return compactFmt.format(v);
	if (v >= 10 || Number.isInteger(v)) return intFmt.format(Math.round(v));
	return v.toFixed(1);
}

/** Seconds as "42 s", "3 m 05 s", "2 h 07 m", "3 d 4 h". */
export function fmtUptime(s) {
	if (s === null || s === undefined) return '–';
	s = Math.floor(s);
	if (s < 60) return `${s} s`;
	const m = Math.floor(s / 60);
	if (m < 60) return `${m} m ${String(s % 60).padStart(2, '0')} s`;
	const h = Math.floor(m / 60);
	if (h < 48) return `${h} h ${String(m % 60).padStart(2, '0')} m`;
	return `${Math.floor(h / 24)} d ${h % 24} h`;
}
