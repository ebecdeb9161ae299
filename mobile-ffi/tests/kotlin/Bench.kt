// The Kotlin side of the FFI benchmark (see mobile-ffi/benches/ffi_calls.rs for the
// Rust side and the method): create a case, list 100 cases and read one, through the
// generated bindings on the JVM. Run with `mobile-ffi/tests/kotlin/run.sh --bench`
// (release library).
package kefu.bench

import java.nio.file.Files
import uniffi.kefu_mobile.*

const val WARM_UP = 50
const val ROUNDS = 300

fun newCase(i: Int) = NewCase(
    kind = CaseKind.REPAIR,
    channel = Channel.PHONE,
    customer = Customer(name = "王芳", phone = "138 0000 0000", address = "3-2-1101"),
    subject = "地下室进水 B2 #$i",
    description = "Water in the basement storage rooms since 06:00",
    priority = Priority.URGENT,
    service = Service.REPAIR,
)

fun measure(name: String, call: (Int) -> Unit) {
    repeat(WARM_UP) { call(it) }
    val micros = (0 until ROUNDS).map { i ->
        val started = System.nanoTime()
        call(WARM_UP + i)
        (System.nanoTime() - started) / 1000.0
    }.sorted()
    println("%-14s %-12s median %9.1f µs   mean %9.1f µs   (n=%d)".format(name, "kotlin", micros[ROUNDS / 2], micros.average(), ROUNDS))
}

fun main() {
    val dir = Files.createTempDirectory("kefu-bench-").toFile()
    try {
        val creating = KefuStore.open(dir.resolve("create").path, "desk.li")
        measure("create_case") { creating.createCase(newCase(it)) }
        val listing = KefuStore.open(dir.resolve("list").path, "desk.li")
        repeat(100) { listing.createCase(newCase(it)) }
        measure("list_100") { check(listing.list(CaseFilter()).size == 100) }
        val first = listing.list(CaseFilter())[0].id
        measure("get_case") { listing.getCase(first) }
        creating.close(); listing.close()
    } finally {
        dir.deleteRecursively()
    }
}
