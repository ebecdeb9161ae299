// A minimal test harness for the Kotlin suite (no JUnit: the suite runs with only
// kotlinc, the Kotlin stdlib, kotlinx-coroutines and JNA, all from the package
// registries). Each test runs in a fresh temp directory under a deadline; a failure
// prints its reason; the last line is "N passed, M failed" and the exit status is
// non-zero on any failure.
package kefu.tests

import java.io.File
import java.nio.file.Files
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import java.util.concurrent.TimeoutException

class AssertionFailed(message: String) : Exception(message)

fun fail(message: String): Nothing = throw AssertionFailed(message)

fun check(condition: Boolean, message: () -> String) {
    if (!condition) fail(message())
}

fun <T> assertEq(expected: T, actual: T, what: String = "value") {
    if (expected != actual) fail("$what: expected <$expected>, got <$actual>")
}

/** Runs [block], which must throw a [E]; returns it for checks on its message. */
inline fun <reified E : Throwable> assertThrows(block: () -> Unit): E {
    try {
        block()
    } catch (e: Throwable) {
        if (e is E) return e
        fail("expected ${E::class.simpleName}, got ${e::class.qualifiedName}: ${e.message}")
    }
    fail("expected ${E::class.simpleName}, nothing was thrown")
}

/** A test body gets a fresh temporary directory, removed afterwards. */
class TestContext(val dir: File) {
    private var n = 0

    /** A new empty directory inside the test's own. */
    fun newDir(name: String = "store"): String {
        n += 1
        val sub = File(dir, "$name-$n")
        sub.mkdirs()
        return sub.absolutePath
    }
}

class Suite {
    private val results = mutableListOf<Pair<String, String?>>()

    /** Runs one test with a deadline; a test past its deadline fails (its thread is abandoned). */
    fun test(name: String, deadlineSeconds: Long = 60, body: TestContext.() -> Unit) {
        val dir = Files.createTempDirectory("kefu-kt-").toFile()
        val started = System.nanoTime()
        val executor = Executors.newSingleThreadExecutor { runnable -> Thread(runnable, "test-$name").apply { isDaemon = true } }
        val error: String? = try {
            executor.submit { TestContext(dir).body() }.get(deadlineSeconds, TimeUnit.SECONDS)
            null
        } catch (e: TimeoutException) {
            "did not finish within $deadlineSeconds s"
        } catch (e: java.util.concurrent.ExecutionException) {
            val cause = e.cause ?: e
            if (cause is AssertionFailed) cause.message else "${cause::class.qualifiedName}: ${cause.message}\n" +
                cause.stackTrace.take(8).joinToString("\n") { "    at $it" }
        } finally {
            executor.shutdownNow()
        }
        val ms = (System.nanoTime() - started) / 1_000_000
        if (error == null) println("PASS $name ($ms ms)") else println("FAIL $name ($ms ms): $error")
        System.out.flush()
        results.add(name to error)
        dir.deleteRecursively()
    }

    /** Records a test that could not run and why (it counts as failed). */
    fun notRun(name: String, reason: String) {
        println("FAIL $name: $reason")
        results.add(name to reason)
    }

    /** Prints the summary line and returns the process exit status. */
    fun finish(): Int {
        val failed = results.count { it.second != null }
        println("${results.size - failed} passed, $failed failed")
        return if (failed == 0) 0 else 1
    }
}
