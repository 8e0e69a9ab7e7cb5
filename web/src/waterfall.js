// The Slow requests page's waterfall: a request's spans (GET /api/admin/slow-requests) as rows in
// call order, each with its depth under the request and its bar's place as shares of the request.

/**
 * Rows for the spans of one request, the request's own span (spans[0]) first and every span
 * after its parent, children by start time. left and width are percentages of the request's
 * time, kept inside 0..100 so that a bar never runs out of its track. A span whose parent is
 * not among the spans (a dropped one) hangs under the request.
 */
export function waterfallRows(spans) {
  if (!Array.isArray(spans) || spans.length === 0) return []
  const root = spans[0]
  const total = Math.max(Number(root.ms) || 0, 0.001)
  const ids = new Set(spans.map((s) => s.span_id))
  const children = new Map()
  for (const span of spans.slice(1)) {
    const parent = ids.has(span.parent_span_id) && span.parent_span_id !== span.span_id ? span.parent_span_id : root.span_id
    if (!children.has(parent)) children.set(parent, [])
    children.get(parent).push(span)
  }
  const rows = []
  const seen = new Set()
  const visit = (span, depth) => {
    if (seen.has(span.span_id)) return
    seen.add(span.span_id)
    const left = clamp((Number(span.offset_ms) / total) * 100)
    const width = Math.max(clamp((Number(span.ms) / total) * 100), 0.5)
    rows.push({ span, depth, left, width: Math.min(width, 100 - left) || 0.5 })
    const kids = (children.get(span.span_id) || []).slice().sort((a, b) => a.offset_ms - b.offset_ms)
    for (const kid of kids) visit(kid, depth + 1)
  }
  visit(root, 0)
  return rows
}

function clamp(percent) {
  if (!Number.isFinite(percent)) return 0
  return Math.min(Math.max(percent, 0), 100)
}

/** "12.3 ms", "1.24 s": a span's duration for people. */
export function durationText(ms) {
  const n = Number(ms) || 0
  if (n >= 1000) return `${(n / 1000).toFixed(2)} s`
  if (n >= 10) return `${Math.round(n)} ms`
  return `${n.toFixed(1)} ms`
}

/** A span's attributes as "key: value" texts, for the row's details. */
export function attributeTexts(attributes) {
  return Object.entries(attributes || {}).map(([key, value]) => `${key}: ${value}`)
}
