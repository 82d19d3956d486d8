// pshost, the PowerShell engine host: hosts the PowerShell 7.6.9 engine (System.Management.Automation)
// for the tests and the bench. It is not pwsh (no console host, no PSReadLine, no profiles, no
// remoting client); the cmdlets are the engine's core ones plus, in shell mode, the real
// Microsoft.PowerShell.Utility and .Management cmdlets of the same release.
//
//   pshost -NoLogo -NoProfile -NonInteractive -NoExit -Command -
//                       shell mode (Shell.cs): statements from stdin, one runspace, like pwsh
//   pshost -NoProfile -Command <text>   run one script and exit, like pwsh -Command
//   pshost parse        script on stdin -> { errors, commands, nodeTypes }
//   pshost data <file>  what Import-PowerShellDataFile does -> the hashtable as JSON, or { error } + exit 1
//   pshost run          script on stdin, run in a CreateDefault2 runspace -> { output, errors }
//
// parse/data/run: exactly one JSON document goes to stdout. Exit codes: 0 ok, 1 data file refused, 2 usage.
using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Runspaces;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

internal static class Program
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Indented = false,
        // Keep quotes, backslashes and non-ASCII readable; the output is consumed by Node, not HTML.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static int Main(string[] args)
    {
        // No telemetry and no update check from a test host (the engine reads these once, at
        // first use); the machines it runs on reach no network but package registries anyway.
        Environment.SetEnvironmentVariable("POWERSHELL_TELEMETRY_OPTOUT", "1");
        Environment.SetEnvironmentVariable("POWERSHELL_UPDATECHECK", "Off");
        Console.OutputEncoding = new UTF8Encoding(false);
        if (PsHost.Shell.IsShellCommandLine(args)) return PsHost.Shell.Run(args);
        try
        {
            return args switch
            {
                ["parse"] => Parse(ReadStdin()),
                ["data", var file] => Data(file),
                ["run"] => Run(ReadStdin()),
                _ => Usage(),
            };
        }
        catch (Exception e)
        {
            Emit(w => { w.WriteStartObject(); w.WriteString("error", $"pshost: {e.GetType().Name}: {e.Message}"); w.WriteEndObject(); });
            return 1;
        }
    }

    private static int Usage()
    {
        Console.Error.WriteLine("usage: pshost parse < script | pshost data <file.psd1|.psrc|.pssc> | pshost run < script");
        return 2;
    }

    private static string ReadStdin()
    {
        using var stdin = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false));
        return stdin.ReadToEnd();
    }

    private static void Emit(Action<Utf8JsonWriter> write)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var w = new Utf8JsonWriter(stdout, WriterOptions)) write(w);
        stdout.WriteByte((byte)'\n');
    }

    // ---- parse ---------------------------------------------------------------------------------

    private static int Parse(string script)
    {
        var ast = Parser.ParseInput(script, out _, out ParseError[] errors);
        Emit(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("errors");
            foreach (var e in errors)
            {
                w.WriteStartObject();
                w.WriteString("message", e.Message);
                w.WriteNumber("line", e.Extent.StartLineNumber);
                w.WriteNumber("column", e.Extent.StartColumnNumber);
                w.WriteString("errorId", e.ErrorId);
                w.WriteEndObject();
            }
            w.WriteEndArray();

            w.WriteStartArray("commands");
            foreach (CommandAst cmd in ast.FindAll(a => a is CommandAst, true))
            {
                w.WriteStartObject();
                var name = cmd.GetCommandName();
                if (name is null) w.WriteNull("name"); else w.WriteString("name", name);
                w.WriteString("invocationOperator", cmd.InvocationOperator.ToString());
                w.WriteString("text", cmd.Extent.Text);
                w.WriteStartArray("elements");
                foreach (var el in cmd.CommandElements)
                {
                    w.WriteStartObject();
                    w.WriteString("type", el.GetType().Name);
                    w.WriteString("text", el.Extent.Text);
                    if (el is StringConstantExpressionAst s)
                    {
                        w.WriteString("value", s.Value);
                        w.WriteString("stringConstantType", s.StringConstantType.ToString());
                    }
                    else if (el is CommandParameterAst p)
                    {
                        w.WriteString("parameterName", p.ParameterName);
                        if (p.Argument is not null) w.WriteString("argumentType", p.Argument.GetType().Name);
                    }
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();

            w.WriteStartArray("nodeTypes");
            foreach (var t in ast.FindAll(_ => true, true).Select(a => a.GetType().Name).Distinct().OrderBy(n => n, StringComparer.Ordinal))
                w.WriteStringValue(t);
            w.WriteEndArray();
            w.WriteEndObject();
        });
        return 0;
    }

    // ---- data ----------------------------------------------------------------------------------

    /// Import-PowerShellDataFile: parse, no errors, one hashtable literal as the whole file, SafeGetValue.
    private static int Data(string file)
    {
        string? error = null;
        object? value = null;
        if (!File.Exists(file)) error = $"{file}: no such file";
        else
        {
            var ast = Parser.ParseFile(Path.GetFullPath(file), out _, out ParseError[] errors);
            if (errors.Length > 0)
                error = $"{file}: cannot parse as a PowerShell data file: " +
                        string.Join("; ", errors.Select(e => $"line {e.Extent.StartLineNumber}, column {e.Extent.StartColumnNumber}: {e.Message}"));
            else if (TopHashtable(ast) is not { } table)
                error = $"{file}: not a PowerShell data file: the file must hold exactly one hashtable literal";
            else
            {
                try { value = table.SafeGetValue(); }
                catch (Exception e) { error = $"{file}: the hashtable is not a safe value: {e.Message}"; }
            }
        }
        if (error is not null)
        {
            Emit(w => { w.WriteStartObject(); w.WriteString("error", error); w.WriteEndObject(); });
            return 1;
        }
        Emit(w => WriteValue(w, value));
        return 0;
    }

    private static HashtableAst? TopHashtable(ScriptBlockAst ast)
    {
        if (ast.ParamBlock is not null || ast.BeginBlock is not null || ast.ProcessBlock is not null || ast.DynamicParamBlock is not null) return null;
        var statements = ast.EndBlock?.Statements;
        if (statements is not { Count: 1 } || ast.EndBlock!.Traps is { Count: > 0 }) return null;
        if (statements[0] is not PipelineAst { PipelineElements: [CommandExpressionAst { Redirections.Count: 0, Expression: HashtableAst table }] }) return null;
        return table;
    }

    private static void WriteValue(Utf8JsonWriter w, object? value, int depth = 0)
    {
        if (depth > 64) throw new InvalidOperationException("value nested too deeply");
        if (value is PSObject pso) value = pso.BaseObject;
        switch (value)
        {
            case null: w.WriteNullValue(); break;
            case string s: w.WriteStringValue(s); break;
            case bool b: w.WriteBooleanValue(b); break;
            case int or long or short or byte or sbyte or uint or ushort or ulong:
                w.WriteNumberValue(Convert.ToInt64(value)); break;
            case double or float or decimal:
                w.WriteNumberValue(Convert.ToDouble(value)); break;
            case ScriptBlock sb: w.WriteStringValue(sb.ToString()); break;
            case IDictionary d:
                w.WriteStartObject();
                foreach (DictionaryEntry e in d)
                {
                    w.WritePropertyName(e.Key?.ToString() ?? "");
                    WriteValue(w, e.Value, depth + 1);
                }
                w.WriteEndObject();
                break;
            case IEnumerable list:
                w.WriteStartArray();
                foreach (var item in list) WriteValue(w, item, depth + 1);
                w.WriteEndArray();
                break;
            default: w.WriteStringValue(value.ToString()); break;
        }
    }

    // ---- run -----------------------------------------------------------------------------------

    private static int Run(string script)
    {
        // Output written before a terminating error is kept: Invoke streams into this collection.
        var results = new PSDataCollection<PSObject>();
        var errors = new List<ErrorRecord>();
        using (var runspace = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2()))
        {
            runspace.Open();
            using var ps = PowerShell.Create();
            ps.Runspace = runspace;
            ps.AddScript(script);
            try
            {
                ps.Invoke<PSObject, PSObject>(null, results, new PSInvocationSettings());
            }
            catch (RuntimeException e) { errors.Add(e.ErrorRecord); }
            errors.InsertRange(0, ps.Streams.Error);
        }
        var output = results.Select(o => o?.ToString()).ToList();
        Emit(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("output");
            foreach (var o in output) if (o is null) w.WriteNullValue(); else w.WriteStringValue(o);
            w.WriteEndArray();
            w.WriteStartArray("errors");
            foreach (var e in errors)
            {
                w.WriteStartObject();
                w.WriteString("fqid", e.FullyQualifiedErrorId);
                w.WriteString("category", e.CategoryInfo.Category.ToString());
                w.WriteString("message", e.Exception?.Message ?? e.ToString());
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
        return 0;
    }
}
