import { describe, expect, test } from 'vitest'
import { usePagedList, useLatest } from './latest'

/** A promise the test settles by hand: answers that land in any order. */
function deferred() {
  let resolve, reject
  const promise = new Promise((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

describe('useLatest', () => {
  test('only the newest request is shown, whatever order the answers land in', async () => {
    const { loading, error, run } = useLatest()
    const first = deferred()
    const second = deferred()
    const a = run(() => first.promise)
    const b = run(() => second.promise)
    expect(loading.value).toBe(true)
    second.resolve('new')
    expect(await b).toBe('new')
    expect(loading.value).toBe(false)
    first.resolve('old')
    expect(await a).toBeUndefined()
    expect(loading.value).toBe(false)
    expect(error.value).toBe(null)
  })

  test('an older request failing late shows no error; the newest one failing does', async () => {
    const { error, run } = useLatest()
    const first = deferred()
    const a = run(() => first.promise)
    const b = run(async () => {
      throw Object.assign(new Error('busy'), { status: 503 })
    })
    expect(await b).toBeUndefined()
    expect(error.value.message).toBe('busy')
    const c = run(async () => 'fine')
    expect(await c).toBe('fine')
    first.reject(Object.assign(new Error('late'), { status: 500 }))
    expect(await a).toBeUndefined()
    expect(error.value).toBe(null)
  })

  test('a 401 is left to the session handler', async () => {
    const { error, run } = useLatest()
    await run(async () => {
      throw Object.assign(new Error('signed out'), { status: 401 })
    })
    expect(error.value).toBe(null)
  })

  test('a request of several steps can see it is no longer the newest', async () => {
    const { run } = useLatest()
    const gate = deferred()
    const steps = []
    const a = run(async (isCurrent) => {
      await gate.promise
      steps.push(isCurrent())
    })
    await run(async (isCurrent) => steps.push(isCurrent()))
    gate.resolve()
    await a
    expect(steps).toEqual([true, false])
  })
})

describe('usePagedList', () => {
  test('asks for the current page and keeps the newest answer', async () => {
    const asked = []
    const answers = []
    const list = usePagedList(
      (p) => {
        asked.push(p)
        const d = deferred()
        answers.push(d)
        return d.promise
      },
      { perPage: 10 },
    )
    expect(list.pages.value).toBe(1)
    const first = list.load()
    list.page.value = 3
    const second = list.load()
    expect(asked).toEqual([
      { page: 1, per_page: 10 },
      { page: 3, per_page: 10 },
    ])
    answers[1].resolve({ items: [{ id: 21 }], total: 25 })
    expect(await second).toBe(true)
    answers[0].resolve({ items: [{ id: 1 }], total: 99 })
    expect(await first).toBe(false)
    expect(list.items.value).toEqual([{ id: 21 }])
    expect(list.total.value).toBe(25)
    expect(list.pages.value).toBe(3)
    expect(list.loaded.value).toBe(true)
  })

  test('a failure keeps what was shown and says why', async () => {
    let fail = false
    const list = usePagedList(async () => {
      if (fail) throw Object.assign(new Error('down'), { status: 503 })
      return { items: [{ id: 1 }], total: 1 }
    })
    await list.load()
    fail = true
    expect(await list.load()).toBe(false)
    expect(list.error.value.message).toBe('down')
    expect(list.items.value).toEqual([{ id: 1 }])
  })
})
