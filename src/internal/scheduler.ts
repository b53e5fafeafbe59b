import * as Scheduler from "effect/Scheduler"

/** As Effect's MixedScheduler: microtasks, then one macrotask turn after this many in a row. */
const MAX_MICROTASKS_BEFORE_TIMER = 2048

const resolved = Promise.resolve()

/**
 * One run queue for every fiber, drained in a single microtask. Effect's default
 * scheduler keeps a runner per fiber (since 3.20, to keep AsyncLocalStorage
 * contexts apart), so each fiber resumed by a readiness batch costs a runner
 * lookup and a promise of its own; here the whole batch is resumed by one
 * drain, which runs inside the poller's callback before Node goes back to the
 * event loop. Tasks of the default priority (0) take a plain array, swapped
 * with a spare one at each drain; other priorities keep Effect's ordering.
 */
class BatchScheduler implements Scheduler.Scheduler {
  private tasks: Array<Scheduler.Task> = []
  private spare: Array<Scheduler.Task> = []
  private prioritized: Scheduler.PriorityBuckets | undefined = undefined
  private running = false
  private depth = 0

  scheduleTask(task: Scheduler.Task, priority: number): void {
    if (priority === 0) this.tasks.push(task)
    else (this.prioritized ??= new Scheduler.PriorityBuckets()).scheduleTask(task, priority)
    if (!this.running) {
      this.running = true
      this.next()
    }
  }

  shouldYield(fiber: Parameters<Scheduler.Scheduler["shouldYield"]>[0]): number | false {
    return Scheduler.defaultShouldYield(fiber)
  }

  private readonly drain = (): void => {
    const tasks = this.tasks
    const prioritized = this.prioritized
    this.tasks = this.spare
    this.prioritized = undefined
    if (prioritized === undefined) {
      for (let i = 0; i < tasks.length; i++) tasks[i]!()
    } else {
      for (const task of tasks) prioritized.scheduleTask(task, 0)
      for (const [, bucket] of prioritized.buckets) for (const task of bucket) task()
    }
    tasks.length = 0
    this.spare = tasks
    if (this.tasks.length === 0 && this.prioritized === undefined) {
      this.running = false
      this.depth = 0
    } else if (++this.depth >= MAX_MICROTASKS_BEFORE_TIMER) {
      this.depth = 0
      setTimeout(this.drain, 0)
    } else {
      this.next()
    }
  }

  // A resolved promise's reaction: Node's queueMicrotask wraps each callback in an AsyncResource.
  private next(): void {
    resolved.then(this.drain)
  }
}

export const scheduler: Scheduler.Scheduler = new BatchScheduler()
