// A real `kefu serve` for the sync tests: a fresh SQLite database in the test's
// directory, a team and device tokens issued with `kefu admin`, the server started
// on 127.0.0.1:0 and its address read from its "listening on <addr>" log line.
// Every child process has a deadline; its stderr is kept and shown on failure.
package kefu.tests

import java.io.File
import java.util.concurrent.TimeUnit

/** The kefu binary: $KEFU_BIN (run.sh sets it to <target>/debug/kefu). */
fun kefuBinary(): File? = System.getenv("KEFU_BIN")?.let(::File)?.takeIf { it.canExecute() }

class KefuServer(private val bin: File, dir: File, private val serveArgs: List<String> = emptyList()) {
    val db = File(dir, "server/kefu.sqlite3").absolutePath
    private var process: Process? = null
    private val log = StringBuffer()
    var url: String = ""
        private set

    init {
        admin("team", "create", "north-desk")
    }

    /**
     * Runs `kefu admin --db <db> <args>` with [stdin] as its input (a password) and returns its
     * stdout (the token, for `device issue`).
     */
    fun admin(vararg args: String, stdin: String = ""): String {
        val child = ProcessBuilder(listOf(bin.absolutePath, "admin", "--db", db) + args)
            .redirectError(ProcessBuilder.Redirect.PIPE)
            .start()
        child.outputStream.use { it.write(stdin.toByteArray()) }
        val stderr = Thread { log.append(child.errorStream.bufferedReader().readText()) }.apply { start() }
        val out = child.inputStream.bufferedReader().readText()
        check(child.waitFor(30, TimeUnit.SECONDS)) { "kefu admin ${args.joinToString(" ")} did not finish in 30 s" }
        stderr.join(5_000)
        check(child.exitValue() == 0) { "kefu admin ${args.joinToString(" ")} failed: $log" }
        return out.trim()
    }

    /** A new device token of the team, of [role], issued to staff member [staff] when given. */
    fun issueToken(label: String, staff: String? = null, role: String = "staff"): String = admin(
        *(listOf("device", "issue", "--team", "north-desk", "--role", role, "--label", label) +
            (if (staff != null) listOf("--staff", staff) else emptyList())).toTypedArray(),
    )

    /** The port it listens on (0 before the first start). */
    val port: Int get() = url.substringAfterLast(':', "0").toInt()

    /**
     * Starts the server and waits for its address: on [port] (after [kill], the same
     * one again, as a restarted server behind a fixed address), or on any free port.
     */
    fun start(port: Int = 0): KefuServer {
        val command = listOf(bin.absolutePath, "serve", "--listen", "127.0.0.1:$port", "--db", db) + serveArgs
        val child = ProcessBuilder(command)
            .apply { environment()["NO_COLOR"] = "1" }
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start()
        process = child
        val address = java.util.concurrent.CompletableFuture<String>()
        Thread {
            child.errorStream.bufferedReader().forEachLine { line ->
                log.append(line).append('\n')
                val plain = line.replace(Regex("\u001B\\[[0-9;]*m"), "")
                Regex("listening on (\\S+)").find(plain)?.let { address.complete(it.groupValues[1]) }
            }
            address.completeExceptionally(IllegalStateException("kefu serve exited before listening:\n$log"))
        }.apply { isDaemon = true; start() }
        url = "http://" + address.get(30, TimeUnit.SECONDS)
        return this
    }

    /** SIGKILL: no shutdown, no flush; what the server acknowledged must already be durable. */
    fun kill() {
        process?.let { it.destroyForcibly(); it.waitFor(30, TimeUnit.SECONDS) }
        process = null
    }

    /** The server's log so far, for failure messages. */
    fun log(): String = log.toString()
}

/**
 * Runs [body] with a started server (`kefu serve` with [serveArgs] added), always killing
 * it afterwards; a failure shows its log.
 */
fun <T> withServer(dir: File, serveArgs: List<String> = emptyList(), body: (KefuServer) -> T): T {
    val bin = kefuBinary() ?: fail("no kefu binary at \$KEFU_BIN=${System.getenv("KEFU_BIN")}; build it with: cargo build -p kefu-server")
    val server = KefuServer(bin, dir, serveArgs).start()
    try {
        return body(server)
    } catch (e: AssertionFailed) {
        throw AssertionFailed("${e.message}\n--- kefu serve log ---\n${server.log().takeLast(4000)}")
    } finally {
        server.kill()
    }
}
