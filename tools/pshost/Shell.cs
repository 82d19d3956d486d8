// Shell mode of the PowerShell engine host: takes pwsh's command line, so node-powershell (and
// the bot's PwshPool) can start it exactly as it starts `pwsh -NoLogo -NoProfile -NonInteractive
// -NoExit -Command -`, and `-Command <script>` runs one script and exits like pwsh does.
//
// What node-powershell writes per call (child-shell's Shell.invokeCommand), one line each:
//     [Console]::Error.WriteLine("<16-char delimiter>")
//     [Console]::Out.WriteLine("<delimiter>")
//     <the command>
//     [Console]::Error.WriteLine("<delimiter>")
//     [Console]::Out.WriteLine("<delimiter>")
// and it reads each of stdout and stderr up to the second delimiter; anything on stderr in between
// marks the call as failed. So this loop, like pwsh reading `-Command -`: reads standard input a
// line at a time, runs each complete statement in ONE long-lived runspace (variables, imported
// modules and functions persist), sends formatted output to stdout and errors to stderr as it goes,
// and exits at end of input (or on `exit N`, with N).
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Runspaces;
using System.Text;

namespace PsHost;

internal static class Shell
{
    /// pwsh's switches that this host accepts (case-insensitive, like pwsh); others are refused.
    private static readonly HashSet<string> Switches = new(StringComparer.OrdinalIgnoreCase) { "-NoLogo", "-NoProfile", "-NonInteractive", "-NoExit" };

    public static bool IsShellCommandLine(string[] args) => args.Length > 0 && args[0].StartsWith('-');

    public static int Run(string[] args)
    {
        string? command = null;
        for (var i = 0; i < args.Length; i++)
        {
            if (Switches.Contains(args[i])) continue;
            if (args[i].Equals("-Command", StringComparison.OrdinalIgnoreCase) || args[i].Equals("-c", StringComparison.OrdinalIgnoreCase))
            {
                // Like pwsh: everything after -Command is the command text.
                command = i + 1 < args.Length ? string.Join(' ', args[(i + 1)..]) : "-";
                break;
            }
            Console.Error.WriteLine($"pshost: unsupported argument '{args[i]}' (supported: -NoLogo -NoProfile -NonInteractive -NoExit -Command <text>|-)");
            return 64; // pwsh's exit code for a bad command line
        }
        if (command is null)
        {
            Console.Error.WriteLine("pshost: give -Command <text> or -Command - (read statements from standard input)");
            return 64;
        }

        var host = new EngineHost();
        using var runspace = RunspaceFactory.CreateRunspace(host, SessionState());
        runspace.Open();
        var session = new Session(runspace, host);
        if (command != "-")
        {
            var ok = session.Execute(command);
            return host.ExitCode ?? (ok ? 0 : 1);
        }

        using var stdin = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false), false, 1 << 16);
        var pending = new StringBuilder();
        while (stdin.ReadLine() is { } line)
        {
            pending.Append(line).Append('\n');
            var text = pending.ToString();
            // A statement left open (a brace, a pipe at the end of the line) waits for the next
            // line; an empty line runs it anyway, so the parse error is reported (pwsh does the same).
            if (line.Length > 0 && IsIncomplete(text)) continue;
            pending.Clear();
            if (text.Trim().Length == 0) continue;
            session.Execute(text);
            if (host.ExitCode is { } code) return code;
        }
        return host.ExitCode ?? 0;
    }

    /// pwsh's default session (core cmdlets) plus the real Utility and Management cmdlets of the
    /// same 7.6.9 release (ConvertTo-Json, ConvertFrom-Json, Start-Sleep, Get-Content, …), which
    /// pwsh loads from $PSHOME/Modules and the engine package alone does not carry.
    public static InitialSessionState SessionState()
    {
        var iss = InitialSessionState.CreateDefault2();
        iss.ImportPSModule(
            typeof(Microsoft.PowerShell.Commands.ConvertToJsonCommand).Assembly.Location,
            typeof(Microsoft.PowerShell.Commands.GetContentCommand).Assembly.Location);
        return iss;
    }

    /// Open at the end: the parser flags it (a missing closing brace or quote), or every error
    /// sits at the very end of the text (a binary operator or pipe waiting for its right side).
    private static bool IsIncomplete(string text)
    {
        Parser.ParseInput(text, out _, out var errors);
        var end = text.TrimEnd().Length;
        return errors.Length > 0 && errors.All(e => e.IncompleteInput || e.Extent.StartOffset >= end);
    }

    private sealed class Session(Runspace runspace, EngineHost host)
    {
        /// Run one statement (list) as pwsh's console host does: errors merged into the output
        /// and everything piped to Out-Default, which writes error records to the host's error
        /// line (stderr) in $ErrorView's format and the rest, formatted, to stdout.
        /// Returns false when the statement reported any error.
        public bool Execute(string script)
        {
            using var ps = PowerShell.Create();
            ps.Runspace = runspace;
            ps.AddScript(script);
            ps.Commands.Commands[0].MergeMyResults(PipelineResultTypes.Error, PipelineResultTypes.Output);
            ps.AddCommand("Out-Default");
            try
            {
                ps.Invoke();
                return !ps.HadErrors;
            }
            catch (RuntimeException e)
            {
                // A terminating error (throw, a parse error, -ErrorAction Stop): report it the
                // same way, on stderr; the session lives on.
                Report(e.ErrorRecord);
                return false;
            }
            catch (Exception e)
            {
                Console.Error.WriteLine($"{e.GetType().Name}: {e.Message}");
                return false;
            }
        }

        /// The record in $ErrorView's format (what pwsh prints for an uncaught error), on stderr.
        private void Report(ErrorRecord record)
        {
            string text;
            try
            {
                using var ps = PowerShell.Create();
                ps.Runspace = runspace;
                ps.AddCommand("Out-String");
                text = string.Concat(ps.Invoke(new[] { record }).Select(o => o?.ToString())).Trim('\r', '\n');
                if (text.Length == 0) text = record.ToString();
            }
            catch (Exception)
            {
                text = record.ToString();
            }
            host.UI.WriteErrorLine(text);
        }
    }
}
