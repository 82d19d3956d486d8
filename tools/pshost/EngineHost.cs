// The PSHost the engine host's shell mode gives its runspace: what the engine writes through
// $Host.UI (formatted output from Out-Default, errors, warnings, verbose, Write-Host) goes to this
// process's stdout and stderr the way pwsh's console host sends them when both are redirected:
// output, warnings, verbose and debug to stdout; errors to stderr. There is no terminal: nothing
// is read from the user (-NonInteractive), no colours, no VT sequences, no progress bars.
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;

namespace PsHost;

internal sealed class EngineHost : PSHost
{
    private readonly EngineHostUI _ui = new();
    private readonly Guid _id = Guid.NewGuid();

    /// Set by the engine when a script runs `exit N` at top level.
    public int? ExitCode { get; private set; }

    public override string Name => "vmbot PowerShell engine host";
    public override Version Version => typeof(EngineHost).Assembly.GetName().Version ?? new Version(1, 0);
    public override Guid InstanceId => _id;
    public override PSHostUserInterface UI => _ui;
    public override CultureInfo CurrentCulture => CultureInfo.InvariantCulture;
    public override CultureInfo CurrentUICulture => CultureInfo.InvariantCulture;
    public override void SetShouldExit(int exitCode) => ExitCode = exitCode;
    public override void EnterNestedPrompt() => throw new NotSupportedException("The PowerShell engine host has no nested prompt.");
    public override void ExitNestedPrompt() => throw new NotSupportedException("The PowerShell engine host has no nested prompt.");
    public override void NotifyBeginApplication() { }
    public override void NotifyEndApplication() { }
}

internal sealed class EngineHostUI : PSHostUserInterface
{
    private readonly EngineHostRawUI _raw = new();
    public override PSHostRawUserInterface RawUI => _raw;
    public override bool SupportsVirtualTerminal => false;

    // The formatter decorates table headers and error views with $PSStyle's VT sequences and
    // leaves it to the host to drop them where there is no terminal; pwsh drops them when its
    // output is redirected, and so does this host, always.
    private static readonly System.Text.RegularExpressions.Regex Vt =
        new(@"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_=>])", System.Text.RegularExpressions.RegexOptions.Compiled);
    private static string Plain(string s) => s.Contains('\x1b') ? Vt.Replace(s, "") : s;

    // Console.Out/Console.Error are the streams node-powershell's delimiters are written to
    // ([Console]::Out.WriteLine from the script), so everything stays in order on each stream.
    public override void Write(string value) => Console.Out.Write(Plain(value));
    public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => Console.Out.Write(Plain(value));
    public override void WriteLine(string value) => Console.Out.WriteLine(Plain(value));
    public override void WriteErrorLine(string value) => Console.Error.WriteLine(Plain(value));
    public override void WriteWarningLine(string message) => Console.Out.WriteLine($"WARNING: {Plain(message)}");
    public override void WriteVerboseLine(string message) => Console.Out.WriteLine($"VERBOSE: {Plain(message)}");
    public override void WriteDebugLine(string message) => Console.Out.WriteLine($"DEBUG: {Plain(message)}");
    public override void WriteProgress(long sourceId, ProgressRecord record) { }

    private static PSInvalidOperationException NonInteractive() =>
        new("The PowerShell engine host is non-interactive: it cannot read input from a user.");
    public override string ReadLine() => throw NonInteractive();
    public override SecureString ReadLineAsSecureString() => throw NonInteractive();
    public override Dictionary<string, PSObject> Prompt(string caption, string message, System.Collections.ObjectModel.Collection<FieldDescription> descriptions) => throw NonInteractive();
    public override int PromptForChoice(string caption, string message, System.Collections.ObjectModel.Collection<ChoiceDescription> choices, int defaultChoice) => throw NonInteractive();
    public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) => throw NonInteractive();
    public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName, PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) => throw NonInteractive();
}

/// A fixed 120-column "window": the width Out-Default formats tables for when no console is attached.
internal sealed class EngineHostRawUI : PSHostRawUserInterface
{
    public override ConsoleColor BackgroundColor { get; set; } = ConsoleColor.Black;
    public override ConsoleColor ForegroundColor { get; set; } = ConsoleColor.Gray;
    public override Size BufferSize { get => new(120, 9001); set { } }
    public override Coordinates CursorPosition { get => new(0, 0); set { } }
    public override int CursorSize { get => 0; set { } }
    public override bool KeyAvailable => false;
    public override Size MaxPhysicalWindowSize => new(120, 9001);
    public override Size MaxWindowSize => new(120, 9001);
    public override Coordinates WindowPosition { get => new(0, 0); set { } }
    public override Size WindowSize { get => new(120, 50); set { } }
    public override string WindowTitle { get; set; } = "";
    public override void FlushInputBuffer() { }
    public override BufferCell[,] GetBufferContents(Rectangle rectangle) => throw new NotSupportedException();
    public override KeyInfo ReadKey(ReadKeyOptions options) => throw new PSInvalidOperationException("The PowerShell engine host is non-interactive.");
    public override void ScrollBufferContents(Rectangle source, Coordinates destination, Rectangle clip, BufferCell fill) => throw new NotSupportedException();
    public override void SetBufferContents(Coordinates origin, BufferCell[,] contents) => throw new NotSupportedException();
    public override void SetBufferContents(Rectangle rectangle, BufferCell fill) => throw new NotSupportedException();
}
