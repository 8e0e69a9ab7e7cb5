import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { useRetryStatus } from './retryStatus'
import { useBusyStore } from '../stores/busy'

beforeEach(() => vi.useFakeTimers())
afterEach(() => vi.useRealTimers())

describe('useRetryStatus', () => {
  test('counts down to the next try, says it once per wait, and resets', async () => {
    const status = useRetryStatus()
    expect(status.text.value).toBe('')
    status.onRetry({ id: 1, attempt: 1, tries: 4, until: Date.now() + 2500 })
    expect(status.text.value).toBe('The shop is busy, retrying in 3 s…')
    expect(status.announcement.value).toBe('The shop is busy. Trying again in 3 seconds (try 2 of 4).')
    await vi.advanceTimersByTimeAsync(1000)
    expect(status.text.value).toBe('The shop is busy, retrying in 2 s…')
    expect(status.announcement.value).toBe('The shop is busy. Trying again in 3 seconds (try 2 of 4).')
    status.onRetry({ id: 1, done: true })
    expect(status.text.value).toBe('The shop is busy, trying again…')
    status.reset()
    expect(status.text.value).toBe('')
    expect(status.announcement.value).toBe('')
  })
})

describe('the page-wide busy store', () => {
  test('waits while any request waits, and names the soonest try', () => {
    setActivePinia(createPinia())
    const busy = useBusyStore()
    expect(busy.waiting).toBe(false)
    busy.onRetry({ id: 1, attempt: 1, tries: 4, until: Date.now() + 4200 })
    busy.onRetry({ id: 2, attempt: 1, tries: 4, until: Date.now() + 1200 })
    expect(busy.waiting).toBe(true)
    expect(busy.seconds).toBe(2)
    busy.onRetry({ id: 2, done: true })
    expect(busy.seconds).toBe(5)
    busy.onRetry({ id: 1, done: true })
    expect(busy.waiting).toBe(false)
    expect(busy.seconds).toBe(0)
  })
})
