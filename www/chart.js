// Small live line charts ("sparklines") on a <canvas>, no library.
//
// A Sparkline keeps the last `capacity` samples and redraws itself on push().
// Colours come from CSS custom properties on the canvas (--spark-line,
// --spark-fill, --spark-grid), so the chart follows prefers-color-scheme;
// it redraws when the scheme or the canvas size changes. A null sample is a
// hole (no data that second), drawn as a break in the line.

const schemes = new Set();

function watchScheme() {
	const mq = window.matchMedia('(prefers-color-scheme: dark)');
	mq.addEventListener('change', () => schemes.forEach((s) => s.draw()));
}

export class Sparkline {
	constructor(canvas, { capacity = 60, min = 0, format = (v) => String(v) } = {}) {
		this.canvas = canvas;
		this.ctx = canvas.getContext('2d');
		this.capacity = capacity;
		this.minFloor = min;
		this.format = format;
		this.samples = [];
		if (schemes.size === 0)
			watchScheme();
		schemes.add(this);
		if ('ResizeObserver' in window) {
			this.ro = new ResizeObserver(() => this.draw());
			this.ro.observe(canvas);
		}
		this.draw();
	}

	push(value) {
		this.samples.push(Number.isFinite(value) ? value : null);
		if (this.samples.length > this.capacity)
			this.samples.shift();
		this.draw();
	}

	colors() {
		const cs = getComputedStyle(this.canvas);
		return {
			line: cs.getPropertyValue('--spark-line').trim() || '#6d5efc',
			fill: cs.getPropertyValue('--spark-fill').trim() || 'rgba(109,94,252,.15)',
			grid: cs.getPropertyValue('--spark-grid').trim() || 'rgba(128,128,128,.2)',
			text: cs.getPropertyValue('--spark-text').trim() || '#888',
		};
	}

	resize() {
		const dpr = window.devicePixelRatio || 1;
		const w = Math.max(1, Math.round(this.canvas.clientWidth * dpr));
		const h = Math.max(1, Math.round(this.canvas.clientHeight * dpr));
		if (this.canvas.width !== w || this.canvas.height !== h) {
			this.canvas.width = w;
			this.canvas.height = h;
		}
		return { w, h, dpr };
	}

	draw() {
		const { w, h, dpr } = this.resize();
		const ctx = this.ctx;
		const c = this.colors();
		ctx.clearRect(0, 0, w, h);

		const pad = 3 * dpr;
		const vals = this.samples.filter((v) => v !== null);
		const max = Math.max(this.minFloor, 1, ...vals);
		// the first samples spread over a short window that grows to capacity
		const span = Math.min(this.capacity, Math.max(this.samples.length, 20)) - 1;
		const x = (i) => w - pad - (this.samples.length - 1 - i) * ((w - 2 * pad) / span);
		const y = (v) => h - pad - (v / max) * (h - 2 * pad);

		// baseline and a half-way grid line
		ctx.strokeStyle = c.grid;
		ctx.lineWidth = dpr;
		ctx.setLineDash([2 * dpr, 3 * dpr]);
		ctx.beginPath();
		ctx.moveTo(0, Math.round(y(max / 2)) + 0.5);
		ctx.lineTo(w, Math.round(y(max / 2)) + 0.5);
		ctx.stroke();
		ctx.setLineDash([]);

		// the scale's top value, small, top left
		ctx.fillStyle = c.text;
		ctx.font = `${10 * dpr}px system-ui, sans-serif`;
		ctx.textBaseline = 'top';
		ctx.fillText(this.format(max), 2 * dpr, 1 * dpr);

		if (vals.length === 0)
			return;

		// runs of consecutive non-null samples
		const runs = [];
		let run = [];
		this.samples.forEach((v, i) => {
			if (v === null) {
				if (run.length) runs.push(run);
				run = [];
			} else {
				run.push([x(i), y(v)]);
			}
		});
		if (run.length) runs.push(run);

		for (const r of runs) {
			ctx.beginPath();
			ctx.moveTo(r[0][0], h);
			r.forEach(([px, py]) => ctx.lineTo(px, py));
			ctx.lineTo(r[r.length - 1][0], h);
			ctx.closePath();
			ctx.fillStyle = c.fill;
			ctx.fill();

			ctx.beginPath();
			r.forEach(([px, py], i) => (i ? ctx.lineTo(px, py) : ctx.moveTo(px, py)));
			ctx.strokeStyle = c.line;
			ctx.lineWidth = 1.6 * dpr;
			ctx.lineJoin = 'round';
			ctx.stroke();
		}

		// the newest point
		const last = this.samples[this.samples.length - 1];
		if (last !== null) {
			ctx.beginPath();
			ctx.arc(x(this.samples.length - 1), y(last), 2.5 * dpr, 0, Math.PI * 2);
			ctx.fillStyle = c.line;
			ctx.fill();
		}
	}
}
