/** Small SVG charts (no chart library): a line over time, and stacked bars per time bucket. */
const W = 300;
const H = 80;

export interface Point { t: number; v: number }

function downsample(points: Point[], max: number): Point[] {
  if (points.length <= max) return points;
  const step = points.length / max;
  const out: Point[] = [];
  for (let i = 0; i < max; i++) out.push(points[Math.floor(i * step)]!);
  out.push(points.at(-1)!);
  return out;
}

export function LineChart(props: { title: string; points: Point[]; format: (v: number) => string; tone: string; empty: string; ceiling?: number }) {
  const { title, format, tone, empty } = props;
  const points = downsample(props.points, 300);
  const latest = points.at(-1);
  if (points.length < 2 || !latest) {
    return (
      <figure className="chart" aria-label={title}>
        <figcaption className="chart-head"><span>{title}</span><span className="chart-value">{latest ? format(latest.v) : '–'}</span></figcaption>
        <div className="chart-empty muted small">{empty}</div>
      </figure>
    );
  }
  const t0 = points[0]!.t;
  const span = Math.max(1, latest.t - t0);
  const peak = Math.max(...points.map((p) => p.v));
  const top = Math.max(props.ceiling ?? 0, peak * 1.15, 1e-9);
  const line = points.map((p, i) => `${i ? 'L' : 'M'}${(((p.t - t0) / span) * W).toFixed(1)},${(H - (p.v / top) * H).toFixed(1)}`).join(' ');
  return (
    <figure className="chart" aria-label={title}>
      <figcaption className="chart-head"><span>{title}</span><span className="chart-value">{format(latest.v)}</span></figcaption>
      <svg className="chart-svg" viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" role="img" aria-label={`${title} over time`}>
        <path d={`${line} L${W},${H} L0,${H} Z`} className={`chart-area tone-${tone}`} />
        <path d={line} className={`chart-line tone-${tone}`} vectorEffect="non-scaling-stroke" />
      </svg>
      <div className="chart-foot muted small"><span>peak {format(peak)}</span><span>{Math.round(span / 1000)}s</span></div>
    </figure>
  );
}

export interface BarBucket { t: number; allowed: number; denied: number }

export function BarChart(props: { title: string; buckets: BarBucket[]; bucketMs: number; empty: string }) {
  const { title, buckets, bucketMs, empty } = props;
  const allowed = buckets.reduce((n, b) => n + b.allowed, 0);
  const denied = buckets.reduce((n, b) => n + b.denied, 0);
  const head = (
    <figcaption className="chart-head">
      <span>{title}</span>
      <span className="chart-value"><span className="tone-text-info">{allowed} allowed</span> · <span className={denied ? 'tone-text-bad' : ''}>{denied} refused</span></span>
    </figcaption>
  );
  if (buckets.length === 0) {
    return <figure className="chart" aria-label={title}>{head}<div className="chart-empty muted small">{empty}</div></figure>;
  }
  const first = buckets[0]!.t;
  const slots = Math.max(12, Math.round((buckets.at(-1)!.t - first) / bucketMs) + 1);
  const width = W / slots;
  const peak = Math.max(...buckets.map((b) => b.allowed + b.denied), 1);
  return (
    <figure className="chart" aria-label={title}>
      {head}
      <svg className="chart-svg" viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" role="img" aria-label={`${title}: ${allowed} allowed, ${denied} refused`}>
        {buckets.map((b) => {
          const x = ((b.t - first) / bucketMs) * width;
          const hAllowed = (b.allowed / peak) * H;
          const hDenied = (b.denied / peak) * H;
          return (
            <g key={b.t}>
              <rect x={x + 0.5} width={Math.max(1, width - 1)} y={H - hAllowed} height={hAllowed} className="bar-allowed" />
              <rect x={x + 0.5} width={Math.max(1, width - 1)} y={H - hAllowed - hDenied} height={hDenied} className="bar-denied" />
            </g>
          );
        })}
      </svg>
      <div className="chart-foot muted small"><span>per {bucketMs / 1000}s</span><span>peak {peak}</span></div>
    </figure>
  );
}
