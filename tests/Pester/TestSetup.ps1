# Dot-sourced by every Pester file: imports the BUILT module (out/HbOps) and reads the test environment.
$ErrorActionPreference = 'Stop'
$script:ModulePath = if ($env:HBOPS_MODULE_PATH) { $env:HBOPS_MODULE_PATH } else { Join-Path $PSScriptRoot '../../out/HbOps' }
Import-Module (Join-Path $script:ModulePath 'HbOps.psd1') -Force
$envDir = if ($env:HBOPS_ENV_DIR) { $env:HBOPS_ENV_DIR } else { '/tmp/hbops-testenv' }
$script:TestEnv = Get-Content -Raw (Join-Path $envDir 'env.json') | ConvertFrom-Json
# The shared parameter vocabulary for reaching the docker host through the operator-style alias.
$script:Ssh = @{ SshHost = $script:TestEnv.SshAlias; SshConfigPath = $script:TestEnv.SshConfigPath }
$script:Prod = @{ Container = $script:TestEnv.Container; Database = $script:TestEnv.Database; User = $script:TestEnv.User }
$script:PwshPath = Join-Path $PSHOME 'pwsh'

function Get-HbLeftovers {
    # Every container and volume an HbOps sandbox could leave behind.
    @(docker ps -aq --filter 'label=hbops.sandbox=true') + @(docker volume ls -q --filter 'label=hbops.sandbox=true') | Where-Object { $_ }
}
