// Entry point of the Kotlin suite: run.sh compiles this with the generated bindings
// and runs it on the JVM.
package kefu.tests

import kotlin.system.exitProcess

fun main() {
    val suite = Suite()
    storeTests(suite)
    syncTests(suite)
    liveTests(suite)
    rosterTests(suite)
    requestTests(suite)
    exitProcess(suite.finish())
}
