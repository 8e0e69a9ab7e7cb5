import { describe, expect, it } from 'vitest'
import { attributeTexts, durationText, waterfallRows } from './waterfall'

const span = (span_id, parent_span_id, offset_ms, ms, name = span_id) => ({ span_id, parent_span_id, offset_ms, ms, name })

describe('the Slow requests waterfall', () => {
  it('puts each span after its parent, children by start, with their depth', () => {
    const rows = waterfallRows([
      span('root', '', 0, 100),
      span('late', 'root', 60, 20),
      span('db', 'root', 10, 30),
      span('cache', 'db', 12, 5),
    ])
    expect(rows.map((r) => [r.span.span_id, r.depth])).toEqual([['root', 0], ['db', 1], ['cache', 2], ['late', 1]])
    expect(rows[1]).toMatchObject({ left: 10, width: 30 })
  })
  it('hangs a span whose parent is missing under the request and keeps bars in their track', () => {
    const rows = waterfallRows([span('root', 'remote', 0, 10), span('orphan', 'gone', 8, 50)])
    expect(rows.map((r) => r.depth)).toEqual([0, 1])
    expect(rows[1].left + rows[1].width).toBeLessThanOrEqual(100)
  })
  it('draws nothing for no spans', () => {
    expect(waterfallRows([])).toEqual([])
    expect(waterfallRows(undefined)).toEqual([])
  })
  it('says durations and attributes plainly', () => {
    expect(durationText(1.234)).toBe('1.2 ms')
    expect(durationText(612.4)).toBe('612 ms')
    expect(durationText(1500)).toBe('1.50 s')
    expect(attributeTexts({ 'db.rows': 3 })).toEqual(['db.rows: 3'])
  })
})
