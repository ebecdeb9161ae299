// Live sessions on the unlucky day, as a phone sees them through the bindings: a phone
// that only watches keeps its one connection through many server idle timeouts, a
// phone whose server dies reconnects by itself and catches up, and a server with a
// private certificate authority is reached over TLS with the CA the app was given.
package kefu.tests

import java.io.File
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.runBlocking
import uniffi.kefu_mobile.*

/** A listener that queues every batch of ids it hears. */
class Heard : ChangeListener {
    private val batches = LinkedBlockingQueue<List<String>>()
    override fun onChanges(docIds: List<String>) { batches.add(docIds) }

    /** Waits until [id] is heard, failing after [seconds] with [what]. */
    fun await(id: String, what: String, seconds: Long = 30) {
        val deadline = System.nanoTime() + seconds * 1_000_000_000L
        while (true) {
            val batch = batches.poll(maxOf(deadline - System.nanoTime(), 0L), TimeUnit.NANOSECONDS)
                ?: fail("$what was not heard within $seconds s")
            if (id in batch) return
        }
    }
}

/** Polls [condition] (a state, not a timing) until it holds, failing after [seconds]. */
fun awaitState(what: String, seconds: Long = 30, condition: () -> Boolean) {
    val deadline = System.nanoTime() + seconds * 1_000_000_000L
    while (!condition()) {
        if (System.nanoTime() > deadline) fail("$what did not happen within $seconds s")
        Thread.sleep(20)
    }
}

/** Timing for tests: the production defaults scaled down from seconds to milliseconds. */
fun quickOptions(heartbeatMs: UInt, caPem: String? = null) = ConnectionOptions(
    tlsCaPem = caPem, connectTimeoutMs = 5_000u, heartbeatMs = heartbeatMs, reconnectMinMs = 100u, reconnectMaxMs = 400u,
)

/** Runs openssl, failing with its output if it fails. */
fun openssl(dir: File, vararg args: String) {
    val child = ProcessBuilder(listOf("openssl") + args).directory(dir).redirectErrorStream(true).start()
    val out = child.inputStream.bufferedReader().readText()
    check(child.waitFor(30, TimeUnit.SECONDS) && child.exitValue() == 0) { "openssl ${args.joinToString(" ")}: $out" }
}

/** A private CA and a certificate for 127.0.0.1 signed by it: (ca.pem, cert.pem, key.pem). */
fun privateCa(dir: File): Triple<File, File, File> {
    dir.mkdirs()
    openssl(dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=kefu test CA")
    openssl(dir, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "key.pem", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    File(dir, "ext.cnf").writeText("basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    openssl(dir, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "cert.pem", "-days", "2", "-extfile", "ext.cnf")
    return Triple(File(dir, "ca.pem"), File(dir, "cert.pem"), File(dir, "key.pem"))
}

fun liveTests(suite: Suite) {
    suite.test("connection options: unusable settings are refused naming the field, the old ones stay") {
        val store = KefuStore.open(newDir(), "field.zhou")
        val zero = assertThrows<KefuException.InvalidInput> { store.setConnectionOptions(quickOptions(0u)) }
        check(zero.message!!.contains("heartbeat_ms is 0 ms")) { "message: ${zero.message}" }
        val notPem = assertThrows<KefuException.InvalidInput> {
            store.setConnectionOptions(quickOptions(200u, caPem = "-----BEGIN NOTHING-----"))
        }
        check(notPem.message!!.contains("tls_ca_pem")) { "message: ${notPem.message}" }
        assertEq(30_000u, store.connectionOptions().heartbeatMs, "the defaults stay after refusals")
        store.close()
    }

    // The issue's "a watching phone stays connected for 5 minutes", scaled: the server
    // closes a connection silent for 1 s; the phone pings every 200 ms and watches for
    // 6 s (six idle timeouts, thirty heartbeats). A phone pinging every 5 s beside it
    // shows that the server really does close silent connections in that time.
    suite.test("a watching phone keeps one connection through many idle timeouts", deadlineSeconds = 120) {
        withServer(dir, serveArgs = listOf("--idle-timeout-secs", "1")) { server ->
            val tokenA = server.issueToken("phone a")
            val tokenB = server.issueToken("phone b")
            val tokenC = server.issueToken("phone c")
            val watcher = KefuStore.open(newDir("a"), "desk.li").also { it.bindDevice(tokenA) }
            watcher.setConnectionOptions(quickOptions(heartbeatMs = 200u))
            val heard = Heard().also { watcher.setChangeListener(it) }
            val slow = KefuStore.open(newDir("c"), "desk.wu").also { it.bindDevice(tokenC) }
            slow.setConnectionOptions(quickOptions(heartbeatMs = 5_000u))
            val live = watcher.startLive(server.url, tokenA)
            val slowLive = slow.startLive(server.url, tokenC)
            awaitState("the watcher's first connection") { live.isConnected() }
            Thread.sleep(6_000) // the watching period under test, not a wait for a signal
            assertEq(1u, live.connections(), "connections the watcher opened")
            check(live.isConnected()) { "the watcher is still connected" }
            check(slowLive.connections() >= 2u) {
                "the phone without timely heartbeats opened ${slowLive.connections()} connection(s); the server should have closed it as idle"
            }
            // The kept connection still carries changes.
            val writer = KefuStore.open(newDir("b"), "field.zhou").also { it.bindDevice(tokenB) }
            val case = writer.createCase(newRepair(subject = "heard by the watcher"))
            runBlocking { writer.sync(server.url, tokenB) }
            heard.await(case.id, "the new case on the watching phone")
            assertEq("heard by the watcher", watcher.getCase(case.id).subject, "the watcher holds the case")
            live.stop(); slowLive.stop()
            watcher.close(); slow.close(); writer.close()
        }
    }

    suite.test("a live phone whose server is killed reconnects by itself and both sides catch up", deadlineSeconds = 180) {
        withServer(dir) { server ->
            val tokenA = server.issueToken("phone a")
            val tokenB = server.issueToken("phone b")
            val watcher = KefuStore.open(newDir("a"), "desk.li").also { it.bindDevice(tokenA) }
            watcher.setConnectionOptions(quickOptions(heartbeatMs = 200u))
            val heard = Heard().also { watcher.setChangeListener(it) }
            val live = watcher.startLive(server.url, tokenA)
            awaitState("the first connection") { live.isConnected() }
            val port = server.port
            server.kill()
            awaitState("the phone noticing the server is gone") { !live.isConnected() }
            // Made while the server is down: it waits on the phone.
            val offlineCase = watcher.createCase(newRepair(subject = "opened while the server was down"))
            check(live.isRunning()) { "the session keeps trying while the server is down" }
            server.start(port)
            awaitState("the automatic reconnect") { live.isConnected() && live.connections() >= 2u }
            awaitState("the phone's offline case reaching the server") { watcher.pendingDocs() == 0u }
            val other = KefuStore.open(newDir("b"), "field.zhou").also { it.bindDevice(tokenB) }
            runBlocking { other.sync(server.url, tokenB) }
            assertEq("opened while the server was down", other.getCase(offlineCase.id).subject, "the other phone got it")
            val reply = other.addNote(offlineCase.id, "on my way")
            runBlocking { other.sync(server.url, tokenB) }
            // The listener has heard this case before (its server number came back after the
            // reconnect), so what is awaited is the note itself arriving by the live session.
            awaitState("the other phone's note reaching the watcher live") {
                watcher.getCase(offlineCase.id).timeline.any { it.id == reply }
            }
            heard.await(offlineCase.id, "the listener told of the case")
            live.stop()
            watcher.close(); other.close()
        }
    }

    suite.test("a server with a private CA is reached over https and wss with the CA given", deadlineSeconds = 120) {
        val (ca, cert, key) = privateCa(File(dir, "tls"))
        withServer(dir, serveArgs = listOf("--tls-cert", cert.absolutePath, "--tls-key", key.absolutePath)) { server ->
            val url = server.url.replace("http://", "https://")
            val token = server.issueToken("phone a")
            val store = KefuStore.open(newDir("a"), "desk.li").also { it.bindDevice(token) }
            store.createCase(newRepair(subject = "over TLS"))
            // Without the CA the phone's trust store does not know the server: nothing is sent.
            val untrusted = assertThrows<KefuException> { runBlocking { store.sync(url, token) } }
            check(untrusted.message!!.contains("certificate", ignoreCase = true)) { "message: ${untrusted.message}" }
            assertEq(1u, store.pendingDocs(), "the case waits")
            store.setConnectionOptions(quickOptions(heartbeatMs = 200u, caPem = ca.readText()))
            val report = runBlocking { store.sync(url, token) }
            assertEq(1u, report.ackedDocs, "the case acknowledged over https")
            val watcher = KefuStore.open(newDir("b"), "field.zhou")
            val tokenB = server.issueToken("phone b")
            watcher.bindDevice(tokenB)
            watcher.setConnectionOptions(quickOptions(heartbeatMs = 200u, caPem = ca.readText()))
            val live = watcher.startLive(url, tokenB)
            awaitState("the wss connection and the first case") { live.isConnected() && watcher.nCases() == 1u }
            live.stop()
            store.close(); watcher.close()
        }
    }
}
