<#
.SYNOPSIS
    Generates the MAML help (en-US/HbOps.dll-Help.xml) from one source: the XML doc comments of the
    cmdlet classes (synopsis, description, examples, parameter summaries) plus the cmdlet metadata
    PowerShell itself reports for the built module (parameter sets, types, positions, pipeline input,
    aliases, wildcards, accepted values, and defaults read from a fresh instance of each cmdlet).
#>
param(
    [Parameter(Mandatory)] [string] $DocXml,
    [Parameter(Mandatory)] [string] $ModuleDll,
    [Parameter(Mandatory)] [string] $OutFile
)
$ErrorActionPreference = 'Stop'

# Cmdlet metadata comes from a child pwsh so the build session never loads the module.
$metaScript = @'
param($dll)
Import-Module $dll
$common = [System.Management.Automation.PSCmdlet]::CommonParameters
$optional = [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
# Type names as an operator writes them: int rather than Nullable`1[Int32], string[] rather than String[].
function Get-FriendlyType([type] $t) {
    if ($t.IsArray) { return (Get-FriendlyType $t.GetElementType()) + '[]' }
    $inner = [Nullable]::GetUnderlyingType($t)
    if ($inner) { return Get-FriendlyType $inner }
    $names = @{
        'System.String' = 'string'; 'System.Int32' = 'int'; 'System.Int64' = 'long'; 'System.Double' = 'double'
        'System.Boolean' = 'bool'; 'System.TimeSpan' = 'timespan'; 'System.Collections.Hashtable' = 'hashtable'
        'System.Security.SecureString' = 'securestring'; 'System.Management.Automation.PSObject' = 'psobject'
        'System.Management.Automation.SwitchParameter' = 'switch'
    }
    if ($names.ContainsKey($t.FullName)) { return $names[$t.FullName] }
    $t.Name
}
function Get-DefaultText($instance, [string] $name, [type] $type) {
    $prop = $instance.GetType().GetProperty($name)
    if (-not $prop) { return 'None' }
    $v = $prop.GetValue($instance)
    if ($type -eq [System.Management.Automation.SwitchParameter]) { return 'False' }
    if ($null -eq $v) { return 'None' }
    if ($v -is [string]) { if ($v.Length -eq 0) { return 'None' } else { return $v } }
    if ($v -is [System.Collections.ICollection]) { if ($v.Count -eq 0) { return 'None' } else { return ($v -join ', ') } }
    [string]::Format([cultureinfo]::InvariantCulture, '{0}', $v)
}
Get-Command -Module HbOps -CommandType Cmdlet | ForEach-Object {
    $cmd = $_
    $instance = [Activator]::CreateInstance($cmd.ImplementingType)
    try {
        $names = @($cmd.Parameters.Values | Where-Object { $_.Name -notin $common } | ForEach-Object Name)
        [pscustomobject]@{
            Name = $cmd.Name
            Type = $cmd.ImplementingType.FullName
            Outputs = @($cmd.OutputType | ForEach-Object { $_.Type.FullName })
            DefaultSet = $cmd.DefaultParameterSet
            Sets = @($cmd.ParameterSets | ForEach-Object {
                [pscustomobject]@{
                    Name = $_.Name
                    Parameters = @($_.Parameters | Where-Object { $_.Name -notin $common } | ForEach-Object {
                        [pscustomobject]@{
                            Name = $_.Name
                            Mandatory = $_.IsMandatory
                            Position = $(if ($_.Position -ge 0) { $_.Position } else { $null })
                            ByValue = $_.ValueFromPipeline
                            ByName = $_.ValueFromPipelineByPropertyName
                        }
                    })
                }
            })
            Parameters = @($names | ForEach-Object {
                $p = $cmd.Parameters[$_]
                $prop = $cmd.ImplementingType.GetProperty($p.Name)
                [pscustomobject]@{
                    Name = $p.Name
                    Type = Get-FriendlyType $p.ParameterType
                    IsSwitch = $p.SwitchParameter
                    Aliases = @($p.Aliases)
                    Default = $(if ($p.Name -in $optional) { 'False' } else { Get-DefaultText $instance $p.Name $p.ParameterType })
                    Globbing = [bool]($p.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] })
                    Values = @($p.Attributes | Where-Object { $_ -is [System.Management.Automation.ValidateSetAttribute] } | ForEach-Object ValidValues)
                    EnumValues = @($(if ($p.ParameterType.IsEnum) { [enum]::GetNames($p.ParameterType) }))
                    Declaring = $(if ($prop) { $prop.DeclaringType.FullName } else { $null })
                }
            })
        }
    }
    finally { if ($instance -is [IDisposable]) { $instance.Dispose() } }
} | ConvertTo-Json -Depth 6
'@
$json = & (Join-Path $PSHOME pwsh) -NoProfile -NonInteractive -Command "& { $metaScript } '$ModuleDll'"
if ($LASTEXITCODE -ne 0 -or -not $json) { throw "Could not read cmdlet metadata from $ModuleDll" }
$cmdlets = $json | ConvertFrom-Json

$doc = [xml](Get-Content -Raw $DocXml)
$members = @{}
foreach ($m in $doc.doc.members.member) { $members[$m.name] = $m }

# -WhatIf and -Confirm come from PowerShell (ShouldProcess), not from the cmdlet classes.
$shouldProcessHelp = @{
    WhatIf  = 'Shows what would happen if the command ran. Nothing is created, changed or removed.'
    Confirm = 'Prompts for confirmation before the command changes anything.'
}

function Get-Text($node) {
    if (-not $node) { return '' }
    $text = if ($node -is [string]) { $node } else { $node.InnerText }
    ($text -replace '\s+', ' ').Trim()
}

function Get-PipelineText($sets, [string] $name) {
    $flags = @($sets | ForEach-Object { $_.Parameters } | Where-Object Name -eq $name)
    $kinds = @()
    if ($flags | Where-Object ByValue) { $kinds += 'ByValue' }
    if ($flags | Where-Object ByName) { $kinds += 'ByPropertyName' }
    if ($kinds) { "True ($($kinds -join ', '))" } else { 'False' }
}

# Whether the parameter is mandatory, per parameter set it belongs to.
function Get-RequiredPerSet($sets, [string] $name) {
    @($sets | ForEach-Object {
        $p = $_.Parameters | Where-Object Name -eq $name
        if ($p) { [pscustomobject]@{ Set = $_.Name; Mandatory = [bool]$p.Mandatory } }
    })
}

# Get-Help shows Required? as true or false only: true when mandatory in some set; the description then says which.
function Get-RequiredText($sets, [string] $name) {
    "$([bool](Get-RequiredPerSet $sets $name | Where-Object Mandatory))".ToLowerInvariant()
}

function Get-SetNote($sets, [string] $name) {
    $per = Get-RequiredPerSet $sets $name
    $all = @($sets).Count
    if (@($per.Mandatory | Sort-Object -Unique).Count -gt 1) {
        $req = ($per | Where-Object Mandatory).Set -join ', '
        $opt = ($per | Where-Object { -not $_.Mandatory }).Set -join ', '
        return " (Required in parameter set $req; optional in $opt.)"
    }
    if ($all -gt 1 -and $per.Count -lt $all) { return " (Parameter set: $($per.Set -join ', ').)" }
    ''
}

function Get-PositionText($sets, [string] $name) {
    $positions = @($sets | ForEach-Object { $_.Parameters } | Where-Object { $_.Name -eq $name -and $null -ne $_.Position } | ForEach-Object Position | Sort-Object -Unique)
    if ($positions.Count -eq 0) { 'named' } else { "$($positions[0])" }
}

$settings = [System.Xml.XmlWriterSettings]::new()
$settings.Indent = $true
$settings.Encoding = [System.Text.UTF8Encoding]::new($false)
$w = [System.Xml.XmlWriter]::Create($OutFile, $settings)
$maml = 'http://schemas.microsoft.com/maml/2004/10'
$command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
$dev = 'http://schemas.microsoft.com/maml/dev/2004/10'

function Write-Para([string] $text) { $w.WriteStartElement('description', $maml); $w.WriteElementString('para', $maml, $text); $w.WriteEndElement() }

function Write-ParameterValue($p) {
    $values = @(@($p.Values) | Where-Object { $_ })
    if (-not $values -and $p.EnumValues) { $values = @($p.EnumValues) }
    if ($values) {
        $w.WriteStartElement('parameterValueGroup', $command)
        foreach ($v in $values) {
            $w.WriteStartElement('parameterValue', $command); $w.WriteAttributeString('required', 'false'); $w.WriteAttributeString('variableLength', 'false'); $w.WriteString($v); $w.WriteEndElement()
        }
        $w.WriteEndElement()
    }
    elseif (-not $p.IsSwitch) {
        $w.WriteStartElement('parameterValue', $command); $w.WriteAttributeString('required', 'true'); $w.WriteAttributeString('variableLength', 'false'); $w.WriteString($p.Type); $w.WriteEndElement()
    }
}

$w.WriteStartDocument()
$w.WriteStartElement('helpItems')
$w.WriteAttributeString('schema', 'maml')
foreach ($c in $cmdlets) {
    $typeDoc = $members["T:$($c.Type)"]
    if (-not $typeDoc) { throw "No XML documentation for $($c.Type)" }
    $synopsis = Get-Text ($typeDoc.summary.para | Where-Object { $_.type -eq 'synopsis' } | Select-Object -First 1)
    $description = Get-Text $typeDoc.remarks
    $verb, $noun = $c.Name -split '-', 2
    $paramDocs = @{}
    foreach ($p in $c.Parameters) {
        if ($shouldProcessHelp.ContainsKey($p.Name)) { $paramDocs[$p.Name] = $shouldProcessHelp[$p.Name]; continue }
        $pDoc = $members["P:$($p.Declaring).$($p.Name)"]
        if (-not $pDoc) { throw "No XML documentation for parameter $($c.Name) -$($p.Name)" }
        $paramDocs[$p.Name] = Get-Text $pDoc.summary
    }
    $byName = @{}
    foreach ($p in $c.Parameters) { $byName[$p.Name] = $p }

    $w.WriteStartElement('command', 'command', $command)
    $w.WriteAttributeString('xmlns', 'maml', $null, $maml)
    $w.WriteAttributeString('xmlns', 'dev', $null, $dev)
    $w.WriteStartElement('details', $command)
    $w.WriteElementString('name', $command, $c.Name)
    Write-Para $synopsis
    $w.WriteElementString('verb', $command, $verb)
    $w.WriteElementString('noun', $command, $noun)
    $w.WriteEndElement()
    $w.WriteStartElement('description', $maml)
    foreach ($para in ($description -split '(?<=\.)\s{2,}')) { $w.WriteElementString('para', $maml, $para) }
    if (@($c.Sets).Count -gt 1) {
        $w.WriteElementString('para', $maml, "Parameter sets: $((@($c.Sets) | ForEach-Object { if ($_.Name -eq $c.DefaultSet) { "$($_.Name) (default)" } else { $_.Name } }) -join ', ').")
    }
    $w.WriteEndElement()

    # One syntax line per parameter set: positional parameters first, then mandatory ones, then the rest, then -WhatIf/-Confirm.
    $w.WriteStartElement('syntax', $command)
    $orderedSets = @($c.Sets | Where-Object Name -eq $c.DefaultSet) + @($c.Sets | Where-Object Name -ne $c.DefaultSet)
    foreach ($set in $orderedSets) {
        $w.WriteStartElement('syntaxItem', $command)
        $w.WriteElementString('name', $maml, $c.Name)
        $ordered = @($set.Parameters | Where-Object { $null -ne $_.Position } | Sort-Object Position) +
            @($set.Parameters | Where-Object { $null -eq $_.Position -and $_.Mandatory }) +
            @($set.Parameters | Where-Object { $null -eq $_.Position -and -not $_.Mandatory -and -not $shouldProcessHelp.ContainsKey($_.Name) }) +
            @($set.Parameters | Where-Object { $shouldProcessHelp.ContainsKey($_.Name) })
        foreach ($sp in $ordered) {
            $p = $byName[$sp.Name]
            $w.WriteStartElement('parameter', $command)
            $w.WriteAttributeString('required', "$([bool]$sp.Mandatory)".ToLowerInvariant())
            $w.WriteAttributeString('position', $(if ($null -ne $sp.Position) { "$($sp.Position)" } else { 'named' }))
            $w.WriteAttributeString('pipelineInput', (Get-PipelineText @($set) $sp.Name))
            $w.WriteAttributeString('globbing', "$($p.Globbing)".ToLowerInvariant())
            $w.WriteAttributeString('variableLength', 'true')
            $w.WriteElementString('name', $maml, $sp.Name)
            Write-ParameterValue $p
            $w.WriteEndElement()
        }
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    $w.WriteStartElement('parameters', $command)
    foreach ($p in $c.Parameters) {
        $w.WriteStartElement('parameter', $command)
        $w.WriteAttributeString('required', (Get-RequiredText @($c.Sets) $p.Name))
        $w.WriteAttributeString('variableLength', 'true')
        $w.WriteAttributeString('globbing', "$($p.Globbing)".ToLowerInvariant())
        $w.WriteAttributeString('pipelineInput', (Get-PipelineText @($c.Sets) $p.Name))
        $w.WriteAttributeString('position', (Get-PositionText @($c.Sets) $p.Name))
        $w.WriteAttributeString('aliases', $(if ($p.Aliases) { $p.Aliases -join ', ' } else { 'none' }))
        $w.WriteElementString('name', $maml, $p.Name)
        $accepted = @(@($p.Values) | Where-Object { $_ }); if (-not $accepted) { $accepted = @($p.EnumValues) }
        Write-Para ($paramDocs[$p.Name] + (Get-SetNote @($c.Sets) $p.Name) + $(if ($accepted) { " Accepted values: $($accepted -join ', ')." } else { '' }))
        if (-not $p.IsSwitch) {
            $w.WriteStartElement('parameterValue', $command); $w.WriteAttributeString('required', 'true'); $w.WriteAttributeString('variableLength', 'false'); $w.WriteString($p.Type); $w.WriteEndElement()
        }
        $w.WriteStartElement('type', $dev); $w.WriteElementString('name', $maml, $p.Type); $w.WriteEndElement()
        $w.WriteElementString('defaultValue', $dev, $p.Default)
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    # What the pipeline can bring: the types of the parameters that take pipeline input.
    $w.WriteStartElement('inputTypes', $command)
    $inputs = @($c.Parameters | Where-Object { (Get-PipelineText @($c.Sets) $_.Name) -ne 'False' })
    foreach ($p in $inputs) {
        $w.WriteStartElement('inputType', $command)
        $w.WriteStartElement('type', $dev); $w.WriteElementString('name', $maml, $p.Type); $w.WriteEndElement()
        Write-Para "-$($p.Name): $(Get-PipelineText @($c.Sets) $p.Name)"
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    $w.WriteStartElement('returnValues', $command)
    foreach ($o in $c.Outputs) {
        $w.WriteStartElement('returnValue', $command)
        $w.WriteStartElement('type', $dev); $w.WriteElementString('name', $maml, $o); $w.WriteEndElement()
        $w.WriteEndElement()
    }
    $w.WriteEndElement()
    $w.WriteStartElement('examples', $command)
    $i = 0
    foreach ($ex in @($typeDoc.example)) {
        if (-not $ex) { continue }
        $i++
        $w.WriteStartElement('example', $command)
        $w.WriteElementString('title', $maml, "-------------------------- Example $i --------------------------")
        $w.WriteElementString('code', $dev, ($ex.SelectSingleNode('code').InnerText.Trim() -replace '(?m)^\s+', ''))
        $w.WriteStartElement('remarks', $dev); $w.WriteElementString('para', $maml, (Get-Text $ex.SelectSingleNode('para'))); $w.WriteEndElement()
        $w.WriteEndElement()
    }
    $w.WriteEndElement()
    $w.WriteStartElement('relatedLinks', $maml)
    $w.WriteStartElement('navigationLink', $maml); $w.WriteElementString('linkText', $maml, 'about_HbOps'); $w.WriteEndElement()
    $w.WriteEndElement()
    $w.WriteEndElement()
}
$w.WriteEndElement()
$w.WriteEndDocument()
$w.Close()
