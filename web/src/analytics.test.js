import { describe, expect, it } from 'vitest'
import { changeText, dayNumber, dayText, granularityFor, periodLabel, presetRange, rateText } from './analytics'

describe('the Sales page date arithmetic', () => {
  it('counts calendar days whatever the browser time zone', () => {
    expect(dayText(dayNumber('2024-02-29') + 1)).toBe('2024-03-01')
    expect(dayNumber('1970-01-02')).toBe(1)
  })
  it('gives each preset its days, both ends included', () => {
    expect(presetRange('today', '2026-03-08')).toEqual({ from: '2026-03-08', to: '2026-03-08' })
    expect(presetRange('7d', '2026-03-08')).toEqual({ from: '2026-03-02', to: '2026-03-08' })
    expect(presetRange('30d', '2026-03-08')).toEqual({ from: '2026-02-07', to: '2026-03-08' })
    expect(presetRange('month', '2026-03-08')).toEqual({ from: '2026-03-01', to: '2026-03-08' })
    expect(presetRange('year', '2026-03-08')).toEqual({ from: '2026-01-01', to: '2026-03-08' })
  })
  it('picks periods that fit the range', () => {
    expect(granularityFor('2026-03-08', '2026-03-08')).toBe('hour')
    expect(granularityFor('2026-03-01', '2026-03-31')).toBe('day')
    expect(granularityFor('2026-01-01', '2026-12-31')).toBe('week')
    expect(granularityFor('2024-01-01', '2026-12-31')).toBe('month')
  })
  it('writes changes and rates for people', () => {
    expect(changeText(12.46)).toBe('+12.5%')
    expect(changeText(-3)).toBe('−3.0%')
    expect(changeText(null)).toBe('—')
    expect(rateText(0.66667)).toBe('66.7%')
    expect(periodLabel('2026-03-08T03:00:00-04:00', 'hour')).toBe('Mar 8, 03:00')
    expect(periodLabel('2026-03-08', 'day')).toBe('Mar 8')
    expect(periodLabel('2026-Q1', 'quarter')).toBe('2026-Q1')
  })
})
