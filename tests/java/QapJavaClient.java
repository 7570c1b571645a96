// The REngine Java client (org.rosuda.REngine.Rserve.RConnection) against
// the QAP1 front end: evaluation, vectors, a data frame, assignment, an R
// error, cdm_con, a password login when one is configured, and every
// refused command the client can send, each answered with an error while
// the session goes on. Usage: java QapJavaClient PORT [USER PASSWORD]
import org.rosuda.REngine.REXP;
import org.rosuda.REngine.REXPDouble;
import org.rosuda.REngine.RList;
import org.rosuda.REngine.Rserve.RConnection;
import org.rosuda.REngine.Rserve.RserveException;

public class QapJavaClient {
    static int failures = 0;

    static void check(String name, boolean ok) {
        System.out.println((ok ? "ok   " : "FAIL ") + name);
        if (!ok)
            failures++;
    }

    interface Call {
        void run(RConnection c) throws Exception;
    }

    // The status a refused call failed with, or -1 when it did not fail.
    static int refusedStatus(RConnection c, Call call) {
        try {
            call.run(c);
            return -1;
        } catch (RserveException e) {
            return e.getRequestReturnCode();
        } catch (Exception e) {
            return -2;
        }
    }

    static RConnection connect(String[] args) throws Exception {
        RConnection c = new RConnection("127.0.0.1", Integer.parseInt(args[0]));
        if (args.length >= 3) {
            check("server asks for a login", c.needLogin());
            c.login(args[1], args[2]);
        }
        return c;
    }

    static void values(RConnection c) throws Exception {
        check("protocol version", c.getServerVersion() == 103);
        check("eval a string", c.eval("R.version.string").asString().startsWith("R version"));
        double[] d = c.eval("c(1.5, 2.5, 4)").asDoubles();
        check("double vector", d.length == 3 && d[0] == 1.5 && d[2] == 4.0);
        int[] n = c.eval("1:100000").asIntegers();
        check("long integer vector", n.length == 100000 && n[99999] == 100000);
        RList df = c.eval("data.frame(n = 1:3, s = c('a', 'b', 'c'))").asList();
        check("data frame columns", df.size() == 2 && df.keyAt(0).equals("n")
                && df.at("s").asStrings()[2].equals("c") && df.at("n").asIntegers()[1] == 2);
        c.assign("v", new REXPDouble(new double[] {1, 2, 3.5}));
        check("assign and use", c.eval("sum(v)").asDouble() == 6.5);
        c.voidEval("k <- 42L");
        check("state between calls", c.eval("k").asInteger() == 42);
        double persons = c.eval("DBI::dbGetQuery(cdm_con, 'SELECT count(*) AS n FROM person')$n")
                             .asDouble();
        check("cdm_con query", persons == 2000);
    }

    static void errors(RConnection c) throws Exception {
        int status = refusedStatus(c, x -> x.eval("stop('boom')"));
        check("R error reported (status " + status + ")", status == 127 || status == 1);
        check("session after an R error", c.eval("k").asInteger() == 42);

        Object[][] refused = {
            {"shutdown", (Call) x -> x.shutdown()},
            {"setBufferSize", (Call) x -> x.setSendBufferSize(1 << 20)},
            {"ctrlEval", (Call) x -> x.serverEval("q()")},
            {"ctrlSource", (Call) x -> x.serverSource("/etc/passwd")},
            {"ctrlShutdown", (Call) x -> x.serverShutdown()},
            {"detachSession", (Call) x -> x.detach()},
            {"detachedVoidEval", (Call) x -> x.voidEvalDetach("1")},
        };
        for (Object[] r : refused) {
            int st = refusedStatus(c, (Call) r[1]);
            check("refused: " + r[0] + " (status 0x" + Integer.toHexString(st) + ")", st == 0x48);
            check("session after refused " + r[0], c.eval("k").asInteger() == 42);
        }
    }

    public static void main(String[] args) throws Exception {
        RConnection c = connect(args);
        values(c);
        errors(c);
        c.close();
        if (args.length >= 3) {
            RConnection bad = new RConnection("127.0.0.1", Integer.parseInt(args[0]));
            int st = refusedStatus(bad, x -> x.login(args[1], args[2] + "-wrong"));
            check("wrong password refused (status 0x" + Integer.toHexString(st) + ")", st == 0x41);
            bad.close();
        }
        System.out.println(failures == 0 ? "PASS" : "FAIL: " + failures + " checks failed");
        System.exit(failures == 0 ? 0 : 1);
    }
}
