// Writes rows with pgjdbc PreparedStatements, then reads each one back by its
// key; tests/integration/test_routing_drivers.py checks where the rows landed.
//
//   java -cp /usr/share/java/postgresql.jar tests/drivers/jdbc/RoutingPlace.java < plan
//
// Connection settings come from PGHOST, PGPORT, PGUSER, PGPASSWORD,
// PGDATABASE. Each plan line is "<table> <how> <key> <value>":
//
//   users <how> <user_id> <name>   into rd_users (user_id bigint, name text)
//   tenants <how> <tenant> <n>     into rd_tenants (tenant text, n int)
//
// where <how> is
//   setlong    autocommit, the key by setLong (int8)
//   setint     autocommit, the key by setInt (int4 into the bigint column)
//   setstring  autocommit, the key by setString (rd_tenants)
//   tx         autocommit off, one commit per row: pgjdbc sends BEGIN in the
//              same pipeline as the INSERT; the key by setLong or setString
//
// pgjdbc binds setLong (int8) and setInt (int4) in binary format, setString
// as varchar text. One PreparedStatement serves all rows of one <how>: its
// first four executions use the unnamed statement, then, with the default
// prepareThreshold (5), pgjdbc moves it to a named server-prepared statement.
//
// Output: "read-auto <table> <key> <value>" for every row read back by key
// with autocommit on (one PreparedStatement per table), "read-tx <table> <key>
// <value>" for the tx rows read back in a transaction of their own (autocommit
// off), "<mode> <table> <key> -" for a key without a row, and
// "server-prepared <table> <how> <true|false>" per insert statement at the
// end. An error, or an INSERT whose update count is not 1, ends the run with
// a message naming the row on stderr and exit code 1; the run stops itself
// after 60 s.

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.postgresql.PGStatement;

public class RoutingPlace {
    static final PrintStream OUT = new PrintStream(System.out, true, StandardCharsets.UTF_8);

    record Row(String table, String how, String key, String value) {}

    static final Map<String, String> INSERTS = Map.of(
            "users", "INSERT INTO rd_users (user_id, name) VALUES (?, ?)",
            "tenants", "INSERT INTO rd_tenants (tenant, n) VALUES (?, ?)");

    static final Map<String, String> READS = Map.of(
            "users", "SELECT user_id::text, name FROM rd_users WHERE user_id = ?",
            "tenants", "SELECT tenant, n::text FROM rd_tenants WHERE tenant = ?");

    static String env(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isEmpty() ? fallback : v;
    }

    static Connection connect(boolean autocommit) throws SQLException {
        String url = "jdbc:postgresql://" + env("PGHOST", "127.0.0.1") + ":" + env("PGPORT", "5432")
                + "/" + env("PGDATABASE", "demo")
                + "?loginTimeout=10&connectTimeout=10&socketTimeout=20";
        Properties p = new Properties();
        p.setProperty("user", env("PGUSER", "demo"));
        p.setProperty("password", env("PGPASSWORD", ""));
        Connection c = DriverManager.getConnection(url, p);
        c.setAutoCommit(autocommit);
        return c;
    }

    static List<Row> readPlan() throws Exception {
        List<Row> plan = new ArrayList<>();
        BufferedReader in =
                new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.trim().split(" ");
            plan.add(new Row(f[0], f[1], f[2], f[3]));
        }
        return plan;
    }

    // Binds the key the way <how> says and the value as the second parameter.
    static void bind(PreparedStatement ps, Row row) throws SQLException {
        if (row.table.equals("users")) {
            if (row.how.equals("setint")) {
                ps.setInt(1, Integer.parseInt(row.key));
            } else {
                ps.setLong(1, Long.parseLong(row.key));
            }
            ps.setString(2, row.value);
        } else {
            ps.setString(1, row.key);
            ps.setInt(2, Integer.parseInt(row.value));
        }
    }

    static void setKey(PreparedStatement ps, Row row) throws SQLException {
        if (row.table.equals("users")) {
            ps.setLong(1, Long.parseLong(row.key));
        } else {
            ps.setString(1, row.key);
        }
    }

    static void print(String mode, Row row, ResultSet rs) throws SQLException {
        boolean any = false;
        while (rs.next()) {
            any = true;
            OUT.println(mode + " " + row.table + " " + rs.getString(1) + " " + rs.getString(2));
        }
        if (!any) {
            OUT.println(mode + " " + row.table + " " + row.key + " -");
        }
    }

    static void insertAll(List<Row> plan, Connection auto, Connection tx) throws SQLException {
        Map<String, PreparedStatement> statements = new LinkedHashMap<>();
        for (Row row : plan) {
            Connection c = row.how.equals("tx") ? tx : auto;
            PreparedStatement ps = statements.get(row.table + " " + row.how);
            if (ps == null) {
                ps = c.prepareStatement(INSERTS.get(row.table));
                statements.put(row.table + " " + row.how, ps);
            }
            bind(ps, row);
            try {
                int count = ps.executeUpdate();
                if (count != 1) {
                    throw new SQLException("update count " + count + ", expected 1");
                }
                if (c == tx) {
                    tx.commit();
                }
            } catch (SQLException e) {
                String what = "insert " + row + ": " + e.getMessage();
                throw new SQLException(what, e.getSQLState(), e);
            }
        }
        for (Map.Entry<String, PreparedStatement> e : statements.entrySet()) {
            boolean server = e.getValue().unwrap(PGStatement.class).isUseServerPrepare();
            OUT.println("server-prepared " + e.getKey() + " " + server);
            e.getValue().close();
        }
    }

    static void readAll(List<Row> plan, Connection auto, Connection tx) throws SQLException {
        Map<String, PreparedStatement> statements = new LinkedHashMap<>();
        for (Row row : plan) {
            for (Connection c : row.how.equals("tx") ? List.of(auto, tx) : List.of(auto)) {
                String mode = c == tx ? "read-tx" : "read-auto";
                PreparedStatement ps = statements.get(mode + " " + row.table);
                if (ps == null) {
                    ps = c.prepareStatement(READS.get(row.table));
                    statements.put(mode + " " + row.table, ps);
                }
                setKey(ps, row);
                try (ResultSet rs = ps.executeQuery()) {
                    print(mode, row, rs);
                    if (c == tx) {
                        tx.commit();
                    }
                } catch (SQLException e) {
                    String what = mode + " " + row + ": " + e.getMessage();
                    throw new SQLException(what, e.getSQLState(), e);
                }
            }
        }
        for (PreparedStatement ps : statements.values()) {
            ps.close();
        }
    }

    public static void main(String[] args) throws Exception {
        Thread watchdog = new Thread(() -> {
            try {
                Thread.sleep(60_000);
                System.err.println("RoutingPlace: still running after 60 s");
                Runtime.getRuntime().halt(2);
            } catch (InterruptedException e) {
                // the run ended in time
            }
        });
        watchdog.setDaemon(true);
        watchdog.start();

        List<Row> plan = readPlan();
        try (Connection auto = connect(true); Connection tx = connect(false)) {
            insertAll(plan, auto, tx);
            readAll(plan, auto, tx);
        } catch (SQLException e) {
            String state = e.getSQLState() == null ? "" : " (SQLSTATE " + e.getSQLState() + ")";
            System.err.println("RoutingPlace: " + e.getMessage() + state);
            System.exit(1);
        }
    }
}
